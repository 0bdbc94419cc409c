//! The holder: a wallet of single-use credentials and the presentations it
//! builds, revealing only what a request asks for.

mod key_request;
pub(crate) mod wallet;
