//! How a running gateway proves to the CLI that it is this home's gateway,
//! before the CLI hands it the gateway key.
//!
//! A port is only a number: when the gateway has stopped (or crashed), any
//! program may take the port `gateway.json` names and collect the key from the
//! next `switchyard status`. So at each start the gateway makes a random
//! 32-byte [`Identity`], keeps it in memory and writes it into the home's
//! runtime record (`gateway.json`, mode 0600), which only the home's owner can
//! read. The CLI then asks:
//!
//! ```text
//! GET /healthz                      (no key)
//! x-switchyard-challenge: <hex of 32 random bytes, new for each ask>
//!
//! 200 {"status":"ok"}               (the body stays exactly this)
//! x-switchyard-proof: <hex of HMAC-SHA256(identity, challenge bytes)>
//! ```
//!
//! and sends the key only when the proof verifies. The identity itself never
//! travels: a squatter sees a fresh challenge each time, and a proof it
//! replays from an earlier ask answers a different challenge. Browsers cannot
//! read the proof header cross-origin (it is not exposed to CORS), and a proof
//! reveals nothing a caller could use but the fact that the gateway is this one.

use std::fmt;

use hmac::{Hmac, Mac};
use http::{HeaderMap, HeaderValue};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::Sha256;

/// The request header that carries the CLI's challenge (hex).
pub const CHALLENGE_HEADER: &str = "x-switchyard-challenge";

/// The response header that carries the gateway's proof (hex).
pub const PROOF_HEADER: &str = "x-switchyard-proof";

/// Bytes in an identity and in the CLI's challenges.
const SECRET_LEN: usize = 32;

/// Challenges shorter than this are refused: a short one could be answered
/// from a table of earlier proofs.
const MIN_CHALLENGE: usize = 16;

/// Challenges longer than this are refused: nothing needs more, and the
/// gateway hashes whatever it gets.
const MAX_CHALLENGE: usize = 64;

/// The secret a running gateway proves itself with. Its `Debug` output and
/// error messages never show it; it is serialized (as hex) only into the
/// home's `gateway.json`.
#[derive(Clone, PartialEq, Eq)]
pub struct Identity([u8; SECRET_LEN]);

/// The operating system's random source failed.
#[derive(Debug, thiserror::Error)]
#[error("the operating system's random source failed: {0}")]
pub struct NoRandomness(getrandom::Error);

impl Identity {
    /// A new random identity, made at each start of a gateway.
    pub fn generate() -> Result<Identity, NoRandomness> {
        random::<SECRET_LEN>().map(Identity)
    }

    /// HMAC-SHA256 over `challenge` under this identity. HMAC takes keys of
    /// any length, so this is always `Some`; no panic stands in for it.
    fn mac(&self, challenge: &[u8]) -> Option<Hmac<Sha256>> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0).ok()?;
        mac.update(challenge);
        Some(mac)
    }

    /// The proof for `challenge`, as hex.
    pub fn prove(&self, challenge: &[u8]) -> Option<String> {
        Some(hex::encode(self.mac(challenge)?.finalize().into_bytes()))
    }

    /// Whether `proof` (hex, as the gateway sent it) answers `challenge`
    /// under this identity; compared in constant time.
    pub fn verify(&self, challenge: &[u8], proof: &str) -> bool {
        let Ok(proof) = hex::decode(proof.trim()) else {
            return false;
        };
        self.mac(challenge).is_some_and(|mac| mac.verify_slice(&proof).is_ok())
    }

    /// The proof header answering the challenge in `request`, when it
    /// carries a well-formed one.
    pub fn answer(&self, request: &HeaderMap) -> Option<HeaderValue> {
        let challenge = request.get(CHALLENGE_HEADER)?.to_str().ok()?;
        let challenge = parse_challenge(challenge)?;
        HeaderValue::from_str(&self.prove(&challenge)?).ok()
    }
}

/// A new random challenge for the CLI to send.
pub fn challenge() -> Result<[u8; SECRET_LEN], NoRandomness> {
    random::<SECRET_LEN>()
}

fn random<const N: usize>() -> Result<[u8; N], NoRandomness> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(NoRandomness)?;
    Ok(bytes)
}

/// A challenge header's bytes: hex of 16 to 64 bytes.
fn parse_challenge(text: &str) -> Option<Vec<u8>> {
    if text.len() > 2 * MAX_CHALLENGE {
        return None;
    }
    let bytes = hex::decode(text.trim()).ok()?;
    (bytes.len() >= MIN_CHALLENGE).then_some(bytes)
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Identity(…)")
    }
}

impl Serialize for Identity {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&hex::encode(self.0))
    }
}

impl<'de> Deserialize<'de> for Identity {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Identity, D::Error> {
        let text = String::deserialize(deserializer)?;
        let bytes = hex::decode(&text).map_err(|_| serde::de::Error::custom("an identity is hex"))?;
        let bytes: [u8; SECRET_LEN] = bytes
            .try_into()
            .map_err(|_| serde::de::Error::custom("an identity is 32 bytes"))?;
        Ok(Identity(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(challenge: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(CHALLENGE_HEADER, HeaderValue::from_str(challenge).unwrap());
        headers
    }

    #[test]
    fn a_proof_verifies_for_its_challenge_only() {
        let identity = Identity::generate().unwrap();
        let challenge = challenge().unwrap();
        let proof = identity.answer(&request(&hex::encode(challenge))).unwrap();
        let proof = proof.to_str().unwrap();
        assert!(identity.verify(&challenge, proof));

        let other = super::challenge().unwrap();
        assert!(
            !identity.verify(&other, proof),
            "a replayed proof answers another challenge"
        );
        let stranger = Identity::generate().unwrap();
        assert!(!stranger.verify(&challenge, proof), "another gateway's proof");
        assert!(!identity.verify(&challenge, ""));
        assert!(!identity.verify(&challenge, "not hex"));
        assert!(!identity.verify(&challenge, &proof[..32]), "a truncated proof");
    }

    #[test]
    fn the_proof_is_hmac_sha256_of_the_challenge() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?",
        // here with the key padded to 32 bytes to check the construction, not
        // the vector: HMAC pads short keys with zeros, so the MAC is the same.
        let mut key = [0u8; SECRET_LEN];
        key[..4].copy_from_slice(b"Jefe");
        let identity = Identity(key);
        assert_eq!(
            identity.prove(b"what do ya want for nothing?").unwrap(),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn malformed_challenges_get_no_proof() {
        let identity = Identity::generate().unwrap();
        assert!(identity.answer(&HeaderMap::new()).is_none());
        for bad in [
            "",
            "zz",
            "00",
            &"00".repeat(MIN_CHALLENGE - 1),
            &"00".repeat(MAX_CHALLENGE + 1),
        ] {
            assert!(identity.answer(&request(bad)).is_none(), "{bad:?}");
        }
        assert!(identity.answer(&request(&"ab".repeat(MIN_CHALLENGE))).is_some());
        assert!(identity.answer(&request(&"AB".repeat(MAX_CHALLENGE))).is_some());
    }

    #[test]
    fn debug_never_shows_the_secret_and_serde_round_trips() {
        let identity = Identity::generate().unwrap();
        let hex = hex::encode(identity.0);
        assert!(!format!("{identity:?}").contains(&hex[..8]));
        let json = serde_json::to_string(&identity).unwrap();
        assert_eq!(json, format!("\"{hex}\""));
        assert_eq!(serde_json::from_str::<Identity>(&json).unwrap(), identity);
        assert!(serde_json::from_str::<Identity>("\"abcd\"").is_err());
    }
}
