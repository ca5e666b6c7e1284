//! The Responses API's memory: recent answers by id, so that a request can
//! continue one with `previous_response_id` instead of resending the
//! conversation. Bounded in count and age; kept in memory, and in team mode
//! also in Redis (`crate::cluster`), so a conversation continues on any
//! replica.

use std::num::NonZeroUsize;
use std::sync::Mutex;
use std::time::Duration;

use lru::LruCache;
use tokio::time::Instant;

use crate::protocol::model::{ChatResponse, Message, Role};

/// One stored response: the whole conversation up to and including it.
#[derive(Debug, Clone)]
struct Stored {
    at: Instant,
    conversation: Vec<Message>,
}

/// Recent responses by id (`resp_…`).
#[derive(Debug)]
pub struct ResponseStore {
    entries: Option<Mutex<LruCache<String, Stored>>>,
    max_age: Duration,
    /// Where the other replicas find what this one keeps.
    cluster: crate::cluster::Cluster,
}

impl ResponseStore {
    /// A store of at most `max_stored` responses, each kept `max_age`.
    pub fn new(max_stored: usize, max_age: Duration) -> ResponseStore {
        ResponseStore {
            entries: NonZeroUsize::new(max_stored).map(|n| Mutex::new(LruCache::new(n))),
            max_age,
            cluster: crate::cluster::Cluster::local(),
        }
    }

    /// The same store, shared with the other replicas of `cluster`.
    pub fn with_cluster(mut self, cluster: crate::cluster::Cluster) -> ResponseStore {
        self.cluster = cluster;
        self
    }

    /// The conversation that ended with response `id`, kept here or, in
    /// team mode, by another replica.
    pub async fn recall(&self, id: &str) -> Option<Vec<Message>> {
        if let Some(conversation) = self.conversation(id) {
            return Some(conversation);
        }
        // A store that keeps nothing (max_stored = 0) asks nobody else either.
        self.entries.as_ref()?;
        self.cluster.conversation(id).await
    }

    /// The conversation that ended with response `id`, if it is still kept.
    pub fn conversation(&self, id: &str) -> Option<Vec<Message>> {
        let mut entries = self.entries.as_ref()?.lock().unwrap_or_else(|p| p.into_inner());
        let fresh = entries
            .get(id)
            .is_some_and(|stored| stored.at.elapsed() <= self.max_age);
        if !fresh {
            entries.pop(id);
            return None;
        }
        entries.get(id).map(|stored| stored.conversation.clone())
    }

    /// Keeps `input` followed by `response`'s output under `id`.
    pub fn keep(&self, id: String, mut input: Vec<Message>, response: &ChatResponse) {
        let Some(entries) = &self.entries else { return };
        if !response.content.is_empty() {
            input.push(Message {
                role: Role::Assistant,
                content: response.content.clone(),
            });
        }
        if self.cluster.is_shared() {
            self.cluster.keep_conversation(&id, &input, self.max_age);
        }
        let stored = Stored {
            at: Instant::now(),
            conversation: input,
        };
        entries.lock().unwrap_or_else(|p| p.into_inner()).put(id, stored);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::model::{FinishReason, Part, Usage};

    fn answer(text: &str) -> ChatResponse {
        ChatResponse {
            model: "m".into(),
            content: vec![Part::Text(text.into())],
            finish_reason: FinishReason::Stop,
            usage: Usage::default(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_kept_response_continues_until_it_is_too_old() {
        let store = ResponseStore::new(10, Duration::from_secs(60));
        store.keep("resp_1".into(), vec![Message::text(Role::User, "hi")], &answer("hello"));
        let conversation = store.conversation("resp_1").unwrap();
        assert_eq!(conversation.len(), 2);
        assert_eq!(conversation[1], Message::text(Role::Assistant, "hello"));
        tokio::time::advance(Duration::from_secs(61)).await;
        assert!(store.conversation("resp_1").is_none());
    }

    #[test]
    fn the_oldest_are_forgotten_first_and_zero_keeps_nothing() {
        let store = ResponseStore::new(2, Duration::from_secs(60));
        for id in ["a", "b", "c"] {
            store.keep(id.into(), vec![], &answer(id));
        }
        assert!(store.conversation("a").is_none());
        assert!(store.conversation("c").is_some());
        let none = ResponseStore::new(0, Duration::from_secs(60));
        none.keep("a".into(), vec![], &answer("a"));
        assert!(none.conversation("a").is_none());
    }
}

/// A streamed Responses answer on its way to the store: the events are
/// folded back into the complete answer, kept when the stream succeeds.
#[derive(Debug)]
pub struct PendingKeep {
    /// Where to keep it.
    pub store: std::sync::Arc<ResponseStore>,
    /// Its id (`resp_…`).
    pub id: String,
    /// The conversation it answers.
    pub input: Vec<Message>,
    /// The events so far.
    pub accumulator: crate::protocol::stream::Accumulator,
}

impl PendingKeep {
    /// Keeps the answer unless the stream ended in an error.
    pub fn finish(self, model: &str) {
        if let Ok(response) = self.accumulator.finish(model) {
            self.store.keep(self.id, self.input, &response);
        }
    }
}
