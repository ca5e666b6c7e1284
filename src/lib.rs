//! Switchyard: a local LLM gateway.
//!
//! One endpoint speaks the OpenAI, Anthropic and Gemini wire protocols and
//! serves every request from a pool of upstream accounts. See
//! `ARCHITECTURE.md` for the map of the modules.

pub mod protocol;
