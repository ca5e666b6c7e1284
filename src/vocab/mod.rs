//! The tokenizer vocabularies built into the binary, compressed.
//!
//! tiktoken-rs embeds its vocabularies as base64 text (3.6 MB for
//! `o200k_base` alone); here each one is its tokens' bytes in rank order, each
//! after a length byte, compressed with zstd (`scripts/vocab` makes them from
//! tiktoken-rs's own files): 0.9 MB for `o200k_base` and 0.4 MB for
//! `cl100k_base`. A vocabulary is unpacked into tiktoken-rs's `CoreBPE` the
//! first time it is used, and only the two in use are built in: `o200k_base`
//! for local token counts, `cl100k_base` for token-array inputs.

use std::io::Read;
use std::sync::OnceLock;

use rustc_hash::FxHashMap;
use tiktoken_rs::{CoreBPE, ENDOFPROMPT, ENDOFTEXT, FIM_MIDDLE, FIM_PREFIX, FIM_SUFFIX, O200K_BASE_PAT_STR, Rank};

/// One built-in vocabulary: its packed tokens, special tokens and split pattern.
struct Vocabulary {
    packed: &'static [u8],
    specials: &'static [(&'static str, Rank)],
    pattern: &'static str,
}

/// OpenAI's `o200k_base` (GPT-4o and later).
const O200K_BASE: Vocabulary = Vocabulary {
    packed: include_bytes!("o200k_base.bin.zst"),
    specials: &[(ENDOFTEXT, 199_999), (ENDOFPROMPT, 200_018)],
    pattern: O200K_BASE_PAT_STR,
};

/// OpenAI's `cl100k_base` (GPT-4, GPT-3.5, `text-embedding-3-*`).
const CL100K_BASE: Vocabulary = Vocabulary {
    packed: include_bytes!("cl100k_base.bin.zst"),
    specials: &[
        (ENDOFTEXT, 100_257),
        (FIM_PREFIX, 100_258),
        (FIM_MIDDLE, 100_259),
        (FIM_SUFFIX, 100_260),
        (ENDOFPROMPT, 100_276),
    ],
    pattern: "'(?i:[sdmt]|ll|ve|re)|[^\\r\\n\\p{L}\\p{N}]?+\\p{L}++|\\p{N}{1,3}+| ?[^\\s\\p{L}\\p{N}]++[\\r\\n]*+|\\s++$|\\s*[\\r\\n]|\\s+(?!\\S)|\\s",
};

/// The `o200k_base` tokenizer.
pub fn o200k_base() -> &'static CoreBPE {
    static TOKENIZER: OnceLock<CoreBPE> = OnceLock::new();
    TOKENIZER.get_or_init(|| unpack(&O200K_BASE))
}

/// The `cl100k_base` tokenizer.
pub fn cl100k_base() -> &'static CoreBPE {
    static TOKENIZER: OnceLock<CoreBPE> = OnceLock::new();
    TOKENIZER.get_or_init(|| unpack(&CL100K_BASE))
}

/// The tokens of a packed vocabulary, in rank order.
fn tokens(packed: &[u8]) -> Vec<&[u8]> {
    let mut tokens = Vec::new();
    let mut rest = packed;
    while let Some((&len, tail)) = rest.split_first() {
        let (token, tail) = tail.split_at(usize::from(len).min(tail.len()));
        tokens.push(token);
        rest = tail;
    }
    tokens
}

fn unpack(vocabulary: &Vocabulary) -> CoreBPE {
    let mut packed = Vec::new();
    // The data is part of the binary and checked by the tests below: a
    // failure here is a broken build, not an input error.
    ruzstd::decoding::StreamingDecoder::new(vocabulary.packed)
        .map(|mut decoder| decoder.read_to_end(&mut packed))
        .expect("the built-in vocabulary is valid zstd")
        .expect("the built-in vocabulary decompresses");
    let tokens = tokens(&packed);
    let mut encoder = FxHashMap::with_capacity_and_hasher(tokens.len(), Default::default());
    for (rank, token) in tokens.into_iter().enumerate() {
        encoder.insert(token.to_vec(), rank as Rank);
    }
    let specials = vocabulary
        .specials
        .iter()
        .map(|(text, rank)| ((*text).to_string(), *rank))
        .collect();
    CoreBPE::new(encoder, specials, vocabulary.pattern).expect("the built-in vocabulary's pattern compiles")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every token of the built-in vocabulary decodes as tiktoken-rs's own
    /// does, and the specials and split pattern give the same encodings.
    fn same_as_tiktoken(ours: &CoreBPE, theirs: &CoreBPE, count: usize) {
        for rank in 0..count as Rank {
            assert_eq!(
                ours.decode_bytes(&[rank]).ok(),
                theirs.decode_bytes(&[rank]).ok(),
                "token {rank}"
            );
        }
        assert!(ours.decode_bytes(&[count as Rank + 1000]).is_err());
        for text in [
            "Hello, world! Ünïcödé, 日本語のテキスト, emoji 🎉 and code: fn main() { println!(\"{x:?}\"); }",
            "  leading spaces\n\n\ttabs and\r\nCRLF 1234567 numbers   ",
            "<|endoftext|> is special only when allowed",
        ] {
            assert_eq!(ours.encode_ordinary(text), theirs.encode_ordinary(text), "{text}");
            assert_eq!(
                ours.encode_with_special_tokens(text),
                theirs.encode_with_special_tokens(text),
                "{text}"
            );
        }
    }

    #[test]
    fn o200k_base_is_tiktokens() {
        same_as_tiktoken(o200k_base(), &tiktoken_rs::o200k_base().unwrap(), 199_998);
    }

    #[test]
    fn cl100k_base_is_tiktokens() {
        same_as_tiktoken(cl100k_base(), &tiktoken_rs::cl100k_base().unwrap(), 100_256);
    }

    #[test]
    fn a_truncated_vocabulary_does_not_read_past_its_end() {
        assert_eq!(tokens(&[2, b'a', b'b', 3, b'c']), vec![&b"ab"[..], &b"c"[..]]);
        assert!(tokens(&[]).is_empty());
    }
}
