//! Embeddings: OpenAI's `/v1/embeddings` and Gemini's `:embedContent` /
//! `:batchEmbedContents`, served by any account whose provider embeds
//! (Gemini, OpenAI and OpenAI-compatible servers), whatever shape the client
//! speaks.
//!
//! The call goes the way a chat does: the model through the aliases and
//! the fallback chain, the client key's models, an account picked by the
//! pool (those whose catalogue lists the model as an embedding model
//! first), rotation on 429, 5xx and connection failures, the monitor
//! record with the account and the input tokens. What differs: no stream,
//! one upstream call per run of [`embed::batches`] (Gemini takes at most
//! 100 inputs per call) on the same account, the vectors put back in order;
//! token-id inputs decoded with `cl100k_base` for an upstream that takes
//! text only; and input tokens estimated locally, and flagged as such, when
//! the upstream reports none.

use std::sync::Arc;

use bytes::Bytes;

use super::trace::Trace;
use super::{
    Answer, ClientCall, Endpoint, Link, PREFERRED_ACCOUNT_HEADER, Refusal, Relay, failure_refusal, header_value, new_id,
};
use crate::pool::{Member, ModelKind, Pool, Unavailable, Verdict};
use crate::protocol::embed::{self, EmbedClient, EmbedInput, EmbedItem, EmbedRequest, Embeddings};
use crate::protocol::model::Usage;
use crate::protocol::{ApiError, ErrorKind};
use crate::upstream::{self, Failure, ReadError};

/// An embeddings call ready to be sent to any account.
struct EmbedCall {
    pool: Arc<Pool>,
    client: EmbedClient,
    request: EmbedRequest,
    /// The items with token ids decoded to text, for upstreams that take
    /// text only; `Err` when an id is not a `cl100k_base` token.
    as_text: Option<Result<Vec<EmbedItem>, ApiError>>,
}

impl EmbedCall {
    /// The items for an upstream that takes token ids (or only text).
    fn items(&self, takes_tokens: bool) -> Result<&[EmbedItem], ApiError> {
        match (&self.as_text, takes_tokens) {
            (Some(Ok(items)), false) => Ok(items),
            (Some(Err(err)), false) => Err(err.clone()),
            _ => Ok(&self.request.items),
        }
    }
}

impl Relay {
    /// Serves an embeddings endpoint.
    pub(super) async fn embed(&self, call: ClientCall, trace: &mut Trace) -> Result<Answer, Refusal> {
        let (client, request) = match &call.endpoint {
            Endpoint::GeminiEmbed { model, batch } => EmbedClient::decode_gemini(&call.body, model, *batch)?,
            _ => EmbedClient::decode_openai(&call.body)?,
        };
        if request.model.is_empty() {
            return Err(ApiError::invalid_request("The request names no model: set the `model` field.").into());
        }
        let routing = self.routing.load_full();
        let chain = routing.chain_for(&request.model, &call.headers, call.key.as_deref())?;
        trace.request(&new_id(), &request.model, false, &call.body);
        let as_text = if request
            .items
            .iter()
            .any(|item| matches!(item.input, EmbedInput::Tokens(_)))
        {
            let items = request.items.clone();
            Some(
                tokio::task::spawn_blocking(move || decoded(items))
                    .await
                    .unwrap_or_else(|_| Err(ApiError::new(ErrorKind::Api, "the token ids could not be decoded"))),
            )
        } else {
            None
        };
        let call_headers = call.headers;
        let call = EmbedCall {
            pool: routing.pool.clone(),
            client,
            request,
            as_text,
        };
        let preferred = header_value(&call_headers, &[PREFERRED_ACCOUNT_HEADER]);
        let started = tokio::time::Instant::now();
        let mut unserved = Vec::new();
        for (at, model) in chain.iter().enumerate() {
            if at > 0 {
                if started.elapsed() >= self.settings.retry_budget {
                    break;
                }
                trace.fell_back();
            }
            match self
                .embed_link(&call, model, trace, started, preferred.as_deref())
                .await
            {
                Link::Served(answer) => return Ok(answer.served_by(model)),
                Link::Final(refusal) => return Err(refusal),
                Link::Unserved(refusal) => unserved.push((model.clone(), refusal)),
            }
        }
        Err(super::chain_refusal(&call.request.model, unserved))
    }

    /// Tries the accounts that embed with `model` until one answers.
    async fn embed_link(
        &self,
        call: &EmbedCall,
        model: &str,
        trace: &mut Trace,
        started: tokio::time::Instant,
        preferred: Option<&str>,
    ) -> Link {
        let mut tried = Vec::new();
        let mut last_failure: Option<(Failure, String)> = None;
        // Why the request cannot go to an account tried (token ids outside
        // cl100k_base for a text-only upstream): what the client hears when
        // no other account takes it.
        let mut unfit: Option<ApiError> = None;
        loop {
            let lease = match call
                .pool
                .select_as(model, ModelKind::Embedding, None, preferred, &tried)
            {
                Ok(lease) => lease,
                Err(unavailable) => {
                    return match unfit {
                        Some(err) => Link::Final(err.into()),
                        None => Link::Unserved(self.embed_unavailable(call, model, unavailable, last_failure)),
                    };
                }
            };
            tried.push(lease.index());
            let member = lease.member().clone();
            let items = match call.items(embed::takes_tokens(member.provider.protocol())) {
                Ok(items) => items,
                Err(err) => {
                    unfit = Some(err);
                    continue;
                }
            };
            trace.attempt(&member, model);
            trace.upstream_started();
            let attempt = self.embed_attempt(call, items, model, &member).await;
            trace.upstream_ended();
            let failure = match attempt {
                Ok(embeddings) => {
                    call.pool.succeeded(&lease, model);
                    return Link::Served(self.embedded(call, embeddings, trace).await);
                }
                Err(failure) => failure,
            };
            let verdict = call.pool.failed(&lease, model, &failure);
            drop(lease);
            let account = member.config.display_name().to_string();
            tracing::info!(account = %member.config.id, model = %model, failure = %failure.describe(), "upstream embeddings attempt failed");
            if verdict != Verdict::Rotate || started.elapsed() >= self.settings.retry_budget {
                return Link::Final(failure_refusal(&failure, &account));
            }
            if tried.len() >= self.settings.max_attempts {
                return Link::Unserved(failure_refusal(&failure, &account));
            }
            last_failure = Some((failure, account));
        }
    }

    /// Every run of `items` sent to `member`'s upstream in turn; the
    /// vectors in order. Input tokens are known only when every call
    /// reported them.
    async fn embed_attempt(
        &self,
        call: &EmbedCall,
        items: &[EmbedItem],
        model: &str,
        member: &Member,
    ) -> Result<Embeddings, Failure> {
        let provider = member.provider.as_ref();
        let wire = provider.protocol();
        let http = member.http.as_ref().unwrap_or(self.upstream.http());
        let credentials = self.upstream.authorize(http, &member.auth).await?;
        let mut all = Embeddings {
            vectors: Vec::with_capacity(items.len()),
            input_tokens: Some(0),
        };
        for run in embed::batches(items, embed::batch_limit(wire)) {
            let batch = &items[run];
            let body = embed::encode_upstream(wire, batch, model, call.request.user.as_deref()).to_string();
            let response = match self
                .upstream
                .embed(http, provider, &credentials, model, Bytes::from(body))
                .await
            {
                Some(response) => response?,
                None => {
                    return Err(Failure::Status {
                        status: 400,
                        retry_after: None,
                        message: "this account's provider serves no embeddings".into(),
                    });
                }
            };
            let body = self.read_whole(response).await?;
            let body = provider.unwrap(&body);
            let part = embed::decode_upstream(wire, &body, batch.len()).map_err(|message| Failure::Status {
                status: 502,
                retry_after: None,
                message: format!("the upstream's embeddings answer could not be read: {message}"),
            })?;
            all.vectors.extend(part.vectors);
            all.input_tokens = all
                .input_tokens
                .zip(part.input_tokens)
                .map(|(a, b)| a.saturating_add(b));
        }
        Ok(all)
    }

    /// An upstream answer read whole, within the body limit and the
    /// timeout.
    async fn read_whole(&self, response: reqwest::Response) -> Result<Bytes, Failure> {
        let limit = self.upstream.body_limit();
        let failure = match tokio::time::timeout(self.upstream.timeout(), upstream::read_capped(response, limit)).await
        {
            Ok(Ok(body)) => return Ok(body),
            Err(_) => Failure::Timeout,
            Ok(Err(ReadError::Transport(err))) if err.is_timeout() => Failure::Timeout,
            Ok(Err(ReadError::Transport(err))) => {
                Failure::Connect(format!("the response broke off: {}", err.without_url()))
            }
            Ok(Err(ReadError::TooLarge)) => Failure::TooLarge { limit },
        };
        Err(failure.redacted(&self.upstream.redactor(), &[]))
    }

    /// The client's answer, with the call's input tokens recorded: the
    /// upstream's count, else a local estimate marked as one.
    async fn embedded(&self, call: &EmbedCall, embeddings: Embeddings, trace: &mut Trace) -> Answer {
        let tokens = match embeddings.input_tokens {
            Some(tokens) => tokens,
            None => {
                trace.estimated();
                let items = call.request.items.clone();
                tokio::task::spawn_blocking(move || estimate(&items))
                    .await
                    .unwrap_or_default()
            }
        };
        trace.usage(Usage {
            input_tokens: tokens,
            ..Usage::default()
        });
        let body = call.client.encode_response(&embeddings, &call.request.model, tokens);
        let body = Bytes::from(body);
        trace.response_body(&body);
        Answer::ok(body)
    }
}

/// The items with every token-id input decoded to its `cl100k_base` text.
fn decoded(mut items: Vec<EmbedItem>) -> Result<Vec<EmbedItem>, ApiError> {
    for (at, item) in items.iter_mut().enumerate() {
        if let EmbedInput::Tokens(tokens) = &item.input {
            let text = crate::tokens::decode_cl100k(tokens).ok_or_else(|| {
                ApiError::invalid_request(format!(
                    "input {at} holds a token id that is not in the cl100k_base vocabulary; \
                     the upstream takes text, so token inputs must be cl100k_base ids (or send the text itself)."
                ))
            })?;
            item.input = EmbedInput::Text(text);
        }
    }
    Ok(items)
}

/// The local estimate of the inputs' tokens: `o200k_base` for texts, the
/// length of token-id inputs; never zero.
fn estimate(items: &[EmbedItem]) -> u64 {
    let total: u64 = items
        .iter()
        .map(|item| match &item.input {
            EmbedInput::Text(text) => crate::tokens::count_text(text),
            EmbedInput::Tokens(tokens) => tokens.len() as u64,
        })
        .sum();
    total.max(1)
}

impl Relay {
    /// Why no account could embed with `model`: as for a chat, except when the
    /// only accounts whose globs admit it are of kinds that serve no embeddings
    /// (Anthropic, Code Assist), which the client is told.
    fn embed_unavailable(
        &self,
        call: &EmbedCall,
        model: &str,
        unavailable: Unavailable,
        last: Option<(Failure, String)>,
    ) -> Refusal {
        if let (Unavailable::NoAccount { disabled }, None) = (&unavailable, &last)
            && disabled.is_empty()
        {
            let others: Vec<String> = call
                .pool
                .members()
                .iter()
                .filter(|m| m.config.enabled && m.serves(model) && !m.provider.serves_embeddings())
                .map(|m| format!("{} `{}`", m.config.provider.as_str(), m.config.display_name()))
                .collect();
            if !others.is_empty() {
                return ApiError::invalid_request(format!(
                "No account can serve embeddings with `{model}`: the accounts whose models match it ({}) are of kinds \
                 that serve no embeddings. Embeddings come from gemini and openai accounts (OpenAI-compatible \
                 servers too): add one (`switchyard accounts add gemini --models 'gemini-embedding-*'`), or map \
                 the name to a served embedding model with an alias under [models] in config.toml.",
                others.join(", ")
            ))
            .into();
            }
        }
        self.unavailable(&call.request.model, model, unavailable, last)
    }
}
