//! API tokens: 256 random bits shown once, stored only as their SHA-256. A token has full
//! entropy, so a fast hash is enough (no password stretching), and lookups go by hash.

use base64::Engine;
use sha2::{Digest, Sha256};

const PREFIX: &str = "syndic_";

/// A new token and the hash to store for it.
pub fn generate() -> (String, String) {
    let bytes: [u8; 32] = rand::random();
    let token = format!(
        "{PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    );
    let hash = hash(&token);
    (token, hash)
}

pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn tokens_differ_and_hash_stably() {
        let (a, ha) = super::generate();
        let (b, _) = super::generate();
        assert_ne!(a, b);
        assert!(a.starts_with("syndic_"));
        assert_eq!(super::hash(&a), ha);
        assert!(!ha.contains(&a));
    }
}
