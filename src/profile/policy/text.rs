//! Quoting untrusted text back in error messages, clipped.

/// Longest piece of untrusted text quoted back in an error message, in characters.
pub const MAX_QUOTED_CHARS: usize = 64;

/// Shortens untrusted text before it is quoted in an error message.
pub(crate) fn clip(text: &str) -> String {
    if text.chars().count() <= MAX_QUOTED_CHARS {
        text.to_owned()
    } else {
        let mut s: String = text.chars().take(MAX_QUOTED_CHARS).collect();
        s.push('…');
        s
    }
}
