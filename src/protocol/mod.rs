//! The protocol layer: the OpenID4VC messages creditproof speaks, and the
//! handling of each as plain functions over explicit state, time and
//! randomness. No sockets, no async runtime, no HTTP types (sans-IO, as
//! quinn-proto is to QUIC): a caller hands in the bytes it received and
//! sends the bytes it gets back. An HTTP service, or a bureau's own web
//! stack, only moves bytes, maps the typed errors to status codes and owns
//! timeouts and body limits.
//!
//! It sits above the roles and may use all three (`.ci/layers.py`); no
//! role imports it.

pub mod dcql;
pub(crate) mod form;
pub mod oid4vci;
pub mod oid4vp;
pub(crate) mod url;

/// `text` as an OAuth `error_description` may carry it (RFC 6749 §5.2:
/// printable ASCII without `"` and `\`; anything else becomes `?`), cut at
/// 200 characters. Shared by the OpenID4VCI and OpenID4VP error types.
pub(crate) fn error_description(text: &str) -> String {
    text.chars().map(|c| if (' '..='~').contains(&c) && c != '"' && c != '\\' { c } else { '?' }).take(200).collect()
}
