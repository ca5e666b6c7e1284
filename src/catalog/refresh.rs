//! The task that keeps a pool's catalogues fresh: every enabled account's
//! list is fetched at once when the pool starts serving (at start and after
//! each reload), then every `refresh` interval. Requests never wait for it:
//! they read whatever list the member holds, and until a first list comes
//! an account serves every model its globs admit.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures_util::future::join_all;
use tokio::task::JoinHandle;

use super::fetch;
use crate::pool::Pool;
use crate::upstream::Upstream;

/// The running refresh of one pool; dropping it stops the task (the pool
/// was replaced or the gateway stopped).
#[derive(Debug)]
pub struct Refresher {
    task: Option<JoinHandle<()>>,
}

impl Refresher {
    /// Fetches nothing (`[catalog] fetch = false`): accounts serve every
    /// model their globs admit.
    pub fn idle() -> Refresher {
        Refresher { task: None }
    }

    /// Starts refreshing `pool`'s catalogues now and then every `every`.
    pub fn start(pool: Arc<Pool>, upstream: Upstream, every: Duration) -> Refresher {
        let task = tokio::spawn(async move {
            loop {
                refresh(&pool, &upstream).await;
                tokio::time::sleep(every).await;
            }
        });
        Refresher { task: Some(task) }
    }
}

impl Drop for Refresher {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Fetches every enabled account's list side by side.
pub async fn refresh(pool: &Pool, upstream: &Upstream) {
    let members = pool.members().iter().filter(|m| m.config.enabled);
    join_all(members.map(|member| async move {
        match fetch(member, upstream).await {
            Ok(models) => {
                let unix = SystemTime::now()
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0);
                tracing::debug!(account = %member.config.id, models = models.len(), "model list fetched");
                member.catalog_fetched(models, unix);
            }
            Err(why) => {
                tracing::warn!(account = %member.config.id, %why, "model list not fetched; the last good one is kept");
                member.catalog_failed(why);
            }
        }
    }))
    .await;
}
