//! The models served to clients: the union of the enabled accounts'
//! catalogues (chat models only), their exact `models` names and the
//! aliases, each with the accounts (and tiers) that serve it and its limits.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::known_limits;
use crate::pool::catalog::normalise;
use crate::pool::{Member, ModelInfo, ModelKind, Pool, Rank};

/// One served model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServedModel {
    /// The name clients ask for.
    pub id: String,
    /// A name for humans.
    pub display_name: String,
    /// The upstream model an alias stands for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias_of: Option<String>,
    /// Context window in tokens, when known.
    pub context: Option<u64>,
    /// Most output tokens, when known.
    pub output: Option<u64>,
    /// Release time (RFC 3339), when the upstream says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// The accounts that serve it, best tier first.
    pub accounts: Vec<ServedBy>,
}

impl ServedModel {
    /// The provider of its best account (`switchyard` for none).
    pub fn owner(&self) -> &str {
        self.accounts.first().map_or("switchyard", |a| a.provider.as_str())
    }
}

/// An account serving a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServedBy {
    /// Account id.
    pub id: String,
    /// Its label (or id).
    pub label: String,
    /// Its provider.
    pub provider: String,
    /// Its priority tier.
    pub tier: i32,
}

/// Every served model, sorted by name.
pub fn served(pool: &Pool, aliases: &BTreeMap<String, String>) -> Vec<ServedModel> {
    let mut models: BTreeMap<String, ServedModel> = BTreeMap::new();
    for member in pool.members().iter().filter(|m| m.config.enabled) {
        let catalog = member.catalog();
        for model in catalog.models.iter().flat_map(|m| m.iter()) {
            if model.kind == ModelKind::Chat {
                add(&mut models, &model.id, member, Some(model));
            }
        }
        for name in member.config.models.iter().filter(|g| !g.contains(['*', '?', '['])) {
            add(&mut models, name, member, catalog.find(name));
        }
    }
    for (alias, target) in aliases {
        let mut entry = ServedModel {
            id: alias.clone(),
            display_name: alias.clone(),
            alias_of: Some(target.clone()),
            context: None,
            output: None,
            created: None,
            accounts: Vec::new(),
        };
        for member in pool.members().iter().filter(|m| m.config.enabled) {
            if member.rank(target) == Some(Rank::Listed) {
                let catalog = member.catalog();
                fill(&mut entry, catalog.find(target));
                entry.accounts.push(served_by(member));
            }
        }
        models.insert(alias.clone(), entry);
    }
    let mut list: Vec<ServedModel> = models.into_values().collect();
    for model in &mut list {
        if let (None, Some((context, output))) = (
            model.context,
            known_limits(model.alias_of.as_ref().unwrap_or(&model.id)),
        ) {
            model.context = Some(context);
            model.output.get_or_insert(output);
        }
        model.accounts.sort_by_key(|a| a.tier);
    }
    list
}

/// The served model `id` names: exactly (without a `models/` prefix), else
/// by its normalised name (`claude-sonnet-4-5` for a dated id).
pub fn find<'a>(models: &'a [ServedModel], id: &str) -> Option<&'a ServedModel> {
    let id = id.strip_prefix("models/").unwrap_or(id);
    models.iter().find(|m| m.id == id).or_else(|| {
        let wanted = normalise(id);
        models.iter().find(|m| normalise(&m.id) == wanted)
    })
}

/// The model `id` names for a client that retrieves it: a served one, or a
/// name an account's explicit globs admit while its catalogue does not
/// refuse it (the pool would route it there). An account without globs
/// admits anything, so it does not make a name exist.
pub fn lookup(pool: &Pool, aliases: &BTreeMap<String, String>, id: &str) -> Option<ServedModel> {
    let models = served(pool, aliases);
    if let Some(model) = find(&models, id) {
        return Some(model.clone());
    }
    let id = id.strip_prefix("models/").unwrap_or(id);
    let mut entry = ServedModel {
        id: id.to_string(),
        display_name: id.to_string(),
        alias_of: None,
        context: None,
        output: None,
        created: None,
        accounts: Vec::new(),
    };
    for member in pool
        .members()
        .iter()
        .filter(|m| m.config.enabled && !m.config.models.is_empty())
    {
        if member.rank(id) == Some(Rank::Listed) {
            entry.accounts.push(served_by(member));
        }
    }
    if entry.accounts.is_empty() {
        return None;
    }
    if let Some((context, output)) = known_limits(id) {
        entry.context = Some(context);
        entry.output = Some(output);
    }
    entry.accounts.sort_by_key(|a| a.tier);
    Some(entry)
}

fn add(models: &mut BTreeMap<String, ServedModel>, id: &str, member: &Member, info: Option<&ModelInfo>) {
    let entry = models.entry(id.to_string()).or_insert_with(|| ServedModel {
        id: id.to_string(),
        display_name: id.to_string(),
        alias_of: None,
        context: None,
        output: None,
        created: None,
        accounts: Vec::new(),
    });
    fill(entry, info);
    if !entry.accounts.iter().any(|a| a.id == member.config.id) {
        entry.accounts.push(served_by(member));
    }
}

/// Takes what the upstream says of a model where the entry knows nothing yet.
fn fill(entry: &mut ServedModel, info: Option<&ModelInfo>) {
    let Some(info) = info else { return };
    if entry.display_name == entry.id
        && let Some(name) = &info.display_name
    {
        entry.display_name = name.clone();
    }
    entry.context = entry.context.or(info.context);
    entry.output = entry.output.or(info.output);
    if entry.created.is_none() {
        entry.created = info.created.clone();
    }
}

fn served_by(member: &Member) -> ServedBy {
    ServedBy {
        id: member.config.id.clone(),
        label: member.config.display_name().to_string(),
        provider: member.config.provider.to_string(),
        tier: member.config.priority,
    }
}
