//! An API key as a secret: it prints as its fingerprint, never in full.
//!
//! Every key the client handles travels in an [`ApiKey`], so a `{}` or `{:?}` in a log line,
//! an error or a debug print shows `...` and the key's last characters, the same
//! fingerprint the pool's own replies use (docs/commands.md).

use std::fmt;

/// An API key. `Display` and `Debug` show its fingerprint; [`ApiKey::expose`] gives the key
/// itself, for the one place that needs it: the request header.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key. Surrounding whitespace is dropped; nothing else is checked here, the
    /// pool refuses keys it cannot hold.
    pub fn new(key: impl Into<String>) -> ApiKey {
        let key = key.into();
        let trimmed = key.trim();
        if trimmed.len() == key.len() {
            ApiKey(key)
        } else {
            ApiKey(trimmed.to_string())
        }
    }

    /// Parses a comma-separated list such as `GEMINI_EMBED_KEY_POOL`, skipping empty
    /// entries and keeping the first of any repeated key.
    pub fn parse_list(list: &str) -> Vec<ApiKey> {
        let mut keys: Vec<ApiKey> = Vec::new();
        for part in list.split(',') {
            let key = ApiKey::new(part);
            if !key.0.is_empty() && !keys.contains(&key) {
                keys.push(key);
            }
        }
        keys
    }

    /// The key itself. Put it in a request header and nowhere else.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `...` and the key's last characters: at most 8, never more than half the key.
    pub fn fingerprint(&self) -> String {
        fingerprint(&self.0)
    }

    /// Whether the key is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.fingerprint())
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKey({})", self.fingerprint())
    }
}

/// The fingerprint of a key given as text (see [`ApiKey::fingerprint`]).
pub fn fingerprint(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    let shown = (chars.len() / 2).min(8);
    let tail: String = chars[chars.len() - shown..].iter().collect();
    format!("...{tail}")
}

/// `text` with every occurrence of each key replaced by its fingerprint. Provider answers
/// can quote the key they refused (`Consumer 'api_key:...' has been suspended`), and such
/// text ends up in errors and logs.
pub fn redact(text: &str, keys: &[&ApiKey]) -> String {
    let mut out = text.to_string();
    for key in keys {
        // A key of a few characters would blank out ordinary words; such a key is not a
        // real credential, and its fingerprint is most of it anyway.
        if key.0.len() >= 8 && out.contains(key.expose()) {
            out = out.replace(key.expose(), &key.fingerprint());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_shows_at_most_eight_and_at_most_half() {
        assert_eq!(fingerprint("test-key-0001-abcdefgh"), "...abcdefgh");
        assert_eq!(fingerprint("abcdef"), "...def");
        assert_eq!(fingerprint("a"), "...");
    }

    #[test]
    fn display_and_debug_never_show_the_key() {
        let key = ApiKey::new("test-key-0001-secret");
        assert_eq!(format!("{key}"), "...1-secret");
        assert_eq!(format!("{key:?}"), "ApiKey(...1-secret)");
    }

    #[test]
    fn parse_list_trims_skips_empty_and_repeats() {
        let keys = ApiKey::parse_list(" test-key-0001 ,,test-key-0002,test-key-0001, ");
        let exposed: Vec<&str> = keys.iter().map(ApiKey::expose).collect();
        assert_eq!(exposed, ["test-key-0001", "test-key-0002"]);
    }

    #[test]
    fn redact_replaces_every_occurrence() {
        let key = ApiKey::new("test-key-0001-secret");
        let text = "Consumer 'api_key:test-key-0001-secret' (test-key-0001-secret)";
        assert_eq!(
            redact(text, &[&key]),
            "Consumer 'api_key:...1-secret' (...1-secret)"
        );
    }
}
