//! Fingerprints: how a key is shown wherever a full key must not appear.

/// At most this many characters of a key are shown.
const SHOWN_CHARS: usize = 8;

/// `...` followed by the key's last characters: at most 8 of them and never more than half
/// the key, so a fingerprint can tell keys apart without giving one away.
pub fn fingerprint(key: &[u8]) -> String {
    let n = SHOWN_CHARS.min(key.len() / 2);
    let tail = &key[key.len() - n..];
    format!("...{}", String::from_utf8_lossy(tail))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_keys_show_their_last_eight_characters() {
        assert_eq!(fingerprint(b"test-key-0001-abcdefgh"), "...abcdefgh");
    }

    #[test]
    fn short_keys_show_at_most_half() {
        assert_eq!(fingerprint(b"abcdefghij"), "...fghij");
        assert_eq!(fingerprint(b"abc"), "...c");
        assert_eq!(fingerprint(b"a"), "...");
    }
}
