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

/// Longest key name: the prefix, two names, the day and separators.
const KEY_NAME_MAX: usize = 16 + 2 * NAME_MAX + 16;

/// A Redis key name, built on the stack: every command builds several, and formatting them
/// on the heap was a measurable part of GPOOL.NEXT's cost.
#[derive(Clone, Copy)]
pub struct KeyName {
    bytes: [u8; KEY_NAME_MAX],
    len: usize,
}

impl KeyName {
    fn join(parts: &[&[u8]]) -> Self {
        let mut name = KeyName {
            bytes: [0; KEY_NAME_MAX],
            len: 0,
        };
        for part in parts {
            // Names are validated to 128 bytes and days are 10, so parts always fit.
            let end = (name.len + part.len()).min(KEY_NAME_MAX);
            name.bytes[name.len..end].copy_from_slice(&part[..end - name.len]);
            name.len = end;
        }
        name
    }

    /// The name's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

impl std::fmt::Debug for KeyName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&String::from_utf8_lossy(self.as_bytes()))
    }
}

/// The Redis key names of one pool. Every name carries the pool as a `{...}` hash tag, so a
/// pool lives in one cluster slot.
#[derive(Clone, Copy, Debug)]
pub struct PoolKeys<'a> {
    pool: &'a str,
}

impl<'a> PoolKeys<'a> {
    /// Key names for `pool`, which must already be a valid name.
    pub fn new(pool: &'a str) -> Self {
        PoolKeys { pool }
    }

    fn name(&self, parts: &[&[u8]]) -> KeyName {
        let mut all: [&[u8]; 8] = [b""; 8];
        all[0] = b"gpool:{";
        all[1] = self.pool.as_bytes();
        all[2] = b"}:";
        for (slot, part) in all[3..].iter_mut().zip(parts) {
            *slot = part;
        }
        KeyName::join(&all[..3 + parts.len().min(5)])
    }

    /// The ring: a sorted set of API key to ring position.
    pub fn ring(&self) -> KeyName {
        self.name(&[b"ring"])
    }

    /// Pool-wide counters: a hash whose `seq` field is the last position handed out.
    pub fn meta(&self) -> KeyName {
        self.name(&[b"meta"])
    }

    /// Each known class's cursor: a hash of class to the position it served last.
    pub fn cursor(&self) -> KeyName {
        self.name(&[b"cursor"])
    }

    /// Disabled keys, out of every class's rotation until restored: a sorted set of API key
    /// to the ring position it will return to.
    pub fn disabled(&self) -> KeyName {
        self.name(&[b"disabled"])
    }

    /// Each class's failure streak: a hash of class to count.
    pub fn streak(&self) -> KeyName {
        self.name(&[b"streak"])
    }

    /// Keys resting for a class after a per-minute limit: a sorted set of API key to the
    /// Unix time in milliseconds when it may serve again.
    pub fn cooling(&self, class: &str) -> KeyName {
        self.name(&[b"cooling:", class.as_bytes()])
    }

    /// Which provider project each grouped key belongs to: a hash of API key to project.
    pub fn projects(&self) -> KeyName {
        self.name(&[b"projects"])
    }

    /// The keys of one project: a sorted set of API key to ring position.
    pub fn project(&self, project: &str) -> KeyName {
        self.name(&[b"project:", project.as_bytes()])
    }

    /// Named flags shared by every process: a hash of name to the Unix time in milliseconds
    /// when the flag lapses.
    pub fn pins(&self) -> KeyName {
        self.name(&[b"pins"])
    }

    /// Uses per key on one quota day: a hash of API key to count.
    pub fn usage(&self, day: &str) -> KeyName {
        self.name(&[b"usage:", day.as_bytes()])
    }

    /// Keys spent for a class on one quota day: a sorted set of API key to position.
    pub fn spent(&self, class: &str, day: &str) -> KeyName {
        self.name(&[b"spent:", class.as_bytes(), b":", day.as_bytes()])
    }

    /// Runs of unavailable keys for a class on one quota day: a sorted set whose members
    /// are runs' first positions and whose scores are their last positions.
    pub fn skip(&self, class: &str, day: &str) -> KeyName {
        self.name(&[b"skip:", class.as_bytes(), b":", day.as_bytes()])
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
        assert_eq!(keys.ring().as_bytes(), b"gpool:{gemini}:ring");
        assert_eq!(
            keys.usage("2026-12-03").as_bytes(),
            b"gpool:{gemini}:usage:2026-12-03"
        );
        assert_eq!(
            keys.spent("embed", "2026-12-03").as_bytes(),
            b"gpool:{gemini}:spent:embed:2026-12-03"
        );
        assert_eq!(
            keys.skip("a:b", "2026-12-03").as_bytes(),
            b"gpool:{gemini}:skip:a:b:2026-12-03"
        );
    }

    #[test]
    fn the_longest_names_fit() {
        let pool = "p".repeat(NAME_MAX);
        let class = "c".repeat(NAME_MAX);
        let name = PoolKeys::new(&pool).skip(&class, "2026-12-03");
        let expected = format!("gpool:{{{pool}}}:skip:{class}:2026-12-03");
        assert_eq!(name.as_bytes(), expected.as_bytes());
    }
}
