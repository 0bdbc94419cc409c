//! Integration tests: the three roles through the public API, and every
//! named bad input of the core flow, each expecting its own error.

mod accepted;
mod bad_input;
mod batch;
mod bulk_offer;
mod cli;
mod cli_edges;
mod cli_interop;
mod cli_issue;
mod demo;
mod desk;
mod disputes;
mod fixture;
mod flow;
mod multinode;
mod oid4vci;
mod oid4vp;
mod policy;
mod probing;
mod published;
mod range;
mod readme;
mod sd_jwt;
mod secrets;
mod select;
mod select_cli;
mod serve;
mod serve_verifier;
mod serve_verifier_hostile;
mod serve_wallet;
mod status;
mod status_cli;
mod verify_batch;
