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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::config::{AccountConfig, ProviderKind};

    fn member(id: &str, priority: i32, globs: &[&str], listed: Option<&[&str]>) -> Member {
        let config = AccountConfig {
            id: id.into(),
            provider: ProviderKind::Openai,
            label: id.into(),
            base_url: None,
            models: globs.iter().map(|g| g.to_string()).collect(),
            priority,
            enabled: true,
            project: None,
            proxy_url: None,
            no_key: true,
            weight: 1,
        };
        let member = Member::new(
            config,
            crate::upstream::provider(ProviderKind::Openai),
            Arc::from(""),
            None,
        );
        if let Some(ids) = listed {
            let models = ids
                .iter()
                .map(|id| ModelInfo {
                    id: id.to_string(),
                    display_name: None,
                    context: None,
                    output: None,
                    created: None,
                    kind: ModelKind::Chat,
                })
                .collect();
            member.catalog_fetched(models, 1);
        }
        member
    }

    #[test]
    fn the_union_names_each_model_once_with_every_account_best_tier_first() {
        let pool = Pool::new(vec![
            member("local", 9, &[], Some(&["gpt-4o", "llama3.2:3b"])),
            member("cloud", 0, &["gpt-*", "house"], Some(&["gpt-4o"])),
        ]);
        let aliases = BTreeMap::from([("fast".to_string(), "gpt-4o".to_string())]);
        let models = served(&pool, &aliases);
        let ids: Vec<&str> = models.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, ["fast", "gpt-4o", "house", "llama3.2:3b"]);
        let gpt = &models[1];
        let by: Vec<(&str, i32)> = gpt.accounts.iter().map(|a| (a.id.as_str(), a.tier)).collect();
        assert_eq!(by, [("cloud", 0), ("local", 9)]);
        assert_eq!(gpt.context, Some(128_000), "from the table of families");
        assert_eq!(models[0].alias_of.as_deref(), Some("gpt-4o"));
        assert_eq!(
            models[0].accounts.len(),
            2,
            "an alias is served by its target's accounts"
        );
    }

    #[test]
    fn a_retrieved_name_exists_when_listed_or_admitted_by_explicit_globs() {
        let pool = Pool::new(vec![
            member("open", 0, &[], None),
            member("globbed", 1, &["gemini-*"], None),
        ]);
        let aliases = BTreeMap::new();
        assert!(
            lookup(&pool, &aliases, "gemini-2.5-pro").is_some(),
            "a glob names a family"
        );
        assert!(lookup(&pool, &aliases, "models/gemini-2.5-pro").is_some());
        assert!(
            lookup(&pool, &aliases, "../../etc/passwd").is_none(),
            "an account without globs does not make any name exist"
        );
        let listed = Pool::new(vec![member("g", 0, &["gemini-*"], Some(&["gemini-2.5-flash"]))]);
        assert!(
            lookup(&listed, &aliases, "gemini-9-imaginary").is_none(),
            "its list refuses it"
        );
    }
}
