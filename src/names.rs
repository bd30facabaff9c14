//! Names: which pool, class and API-key arguments are valid, how a bad argument is shown in
//! an error, and the Redis key names a pool's state lives under (see `docs/keys.md`).

/// Longest pool or class name.
pub const NAME_MAX: usize = 128;
/// Longest API key.
pub const API_KEY_MAX: usize = 512;
/// How many bytes of a bad argument an error message shows.
const SHOWN_MAX: usize = 32;

/// Whether `name` is a valid pool or class name: 1 to 128 letters, digits, `_ - . :`.
pub fn is_valid_name(name: &[u8]) -> bool {
    (1..=NAME_MAX).contains(&name.len())
        && name
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':'))
}

/// Whether `key` is a valid API key: 1 to 512 printable ASCII characters, no spaces.
pub fn is_valid_api_key(key: &[u8]) -> bool {
    (1..=API_KEY_MAX).contains(&key.len()) && key.iter().all(|&b| (0x21..=0x7e).contains(&b))
}

/// A bad argument as an error shows it: its first 32 bytes, every byte outside `!` to `~`
/// (and `'` and `\`) written as `\xNN`, and `...` when the argument was longer.
pub fn shown(arg: &[u8]) -> String {
    let mut out = String::with_capacity(arg.len().min(SHOWN_MAX) + 3);
    for &b in arg.iter().take(SHOWN_MAX) {
        if (0x21..=0x7e).contains(&b) && b != b'\'' && b != b'\\' {
            out.push(b as char);
        } else {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    if arg.len() > SHOWN_MAX {
        out.push_str("...");
    }
    out
}

/// The Redis key names of one pool. Every name carries the pool as a `{...}` hash tag, so a
/// pool lives in one cluster slot.
#[derive(Clone, Debug)]
pub struct PoolKeys {
    prefix: String,
}

impl PoolKeys {
    /// Key names for `pool`, which must already be a valid name.
    pub fn new(pool: &str) -> Self {
        PoolKeys {
            prefix: format!("gpool:{{{pool}}}:"),
        }
    }

    /// The ring: a sorted set of API key to ring position.
    pub fn ring(&self) -> String {
        format!("{}ring", self.prefix)
    }

    /// Pool-wide counters: a hash whose `seq` field is the last position handed out.
    pub fn meta(&self) -> String {
        format!("{}meta", self.prefix)
    }

    /// Each known class's cursor: a hash of class to the position it served last.
    pub fn cursor(&self) -> String {
        format!("{}cursor", self.prefix)
    }

    /// Uses per key on one quota day: a hash of API key to count.
    pub fn usage(&self, day: &str) -> String {
        format!("{}usage:{day}", self.prefix)
    }

    /// Keys spent for a class on one quota day: a sorted set of API key to position.
    pub fn spent(&self, class: &str, day: &str) -> String {
        format!("{}spent:{class}:{day}", self.prefix)
    }

    /// Runs of unavailable keys for a class on one quota day: a sorted set whose members
    /// are runs' first positions and whose scores are their last positions.
    pub fn skip(&self, class: &str, day: &str) -> String {
        format!("{}skip:{class}:{day}", self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_allow_letters_digits_and_four_marks() {
        assert!(is_valid_name(b"gemini"));
        assert!(is_valid_name(b"team-a.prod:embed_v2"));
        assert!(is_valid_name(&[b'a'; 128]));
        assert!(!is_valid_name(b""));
        assert!(!is_valid_name(&[b'a'; 129]));
        assert!(!is_valid_name(b"a b"));
        assert!(!is_valid_name(b"a{b}"));
        assert!(!is_valid_name("é".as_bytes()));
    }

    #[test]
    fn api_keys_are_printable_without_spaces() {
        assert!(is_valid_api_key(b"test-key-0001"));
        assert!(is_valid_api_key(&[b'~'; 512]));
        assert!(!is_valid_api_key(b""));
        assert!(!is_valid_api_key(&[b'k'; 513]));
        assert!(!is_valid_api_key(b"key with space"));
        assert!(!is_valid_api_key(b"key\x00"));
        assert!(!is_valid_api_key(b"key\x7f"));
    }

    #[test]
    fn shown_escapes_and_truncates() {
        assert_eq!(shown(b"a b"), "a\\x20b");
        assert_eq!(shown(b"it's\\"), "it\\x27s\\x5c");
        assert_eq!(shown(&[0, 0xff]), "\\x00\\xff");
        assert_eq!(shown(&[b'x'; 33]), format!("{}...", "x".repeat(32)));
        assert_eq!(shown(&[b'x'; 32]), "x".repeat(32));
    }

    #[test]
    fn key_names_share_the_pool_hash_tag() {
        let keys = PoolKeys::new("gemini");
        assert_eq!(keys.ring(), "gpool:{gemini}:ring");
        assert_eq!(keys.usage("2026-12-03"), "gpool:{gemini}:usage:2026-12-03");
        assert_eq!(
            keys.spent("embed", "2026-12-03"),
            "gpool:{gemini}:spent:embed:2026-12-03"
        );
        assert_eq!(
            keys.skip("a:b", "2026-12-03"),
            "gpool:{gemini}:skip:a:b:2026-12-03"
        );
    }
}
