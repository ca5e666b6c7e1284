//! Reading and editing one setting of a tool's configuration file while
//! keeping every other byte: comments, order, formatting, unknown keys.
//!
//! - JSON and JSONC (Claude Code, Gemini CLI, OpenCode, Qwen Code, llm's
//!   keys) through `jsonc_parser`'s CST, which keeps comments and trivia;
//! - TOML (Codex) through `toml_edit`;
//! - dotenv (`KEY=value`) and flat YAML (`key: value`, Aider) line by line:
//!   only the line of the key changes, or a line is appended.
//!
//! A setting is named by its path of keys from the top; its value is JSON
//! (strings, numbers, booleans and objects are enough for every tool). A file
//! that does not parse is an error naming the line; nothing is written then.

use jsonc_parser::ParseOptions;
use jsonc_parser::cst::{CstInputValue, CstObject, CstRootNode};
use serde_json::Value;
use toml_edit::{DocumentMut, Item, TableLike};

/// The syntax of a configuration file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// JSON, comments and trailing commas allowed.
    Json,
    /// TOML.
    Toml,
    /// `KEY=value` lines.
    Dotenv,
    /// Top-level `key: value` lines of a YAML mapping.
    Yaml,
    /// A YAML list of mappings told apart by their `model_id` (llm's extra
    /// models): a setting is one entry, edited as its block of lines.
    YamlList,
}

/// One change to a file.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// Set the value at this path (creating the objects on the way).
    Set(Vec<String>, Value),
    /// Remove the value at this path, if present.
    Remove(Vec<String>),
    /// Remove the object or table at this path when it is present and empty.
    Prune(Vec<String>),
}

/// Applies `changes` to `text`; the error says why the text does not parse
/// (with its line) or cannot take the change.
pub fn edit(format: Format, text: &str, changes: &[Change]) -> Result<String, String> {
    match format {
        Format::Json => json::edit(text, changes),
        Format::Toml => toml::edit(text, changes),
        Format::Dotenv => Ok(lines::edit(text, changes, lines::Style::Dotenv)),
        Format::Yaml => Ok(lines::edit(text, changes, lines::Style::Yaml)),
        Format::YamlList => Ok(list::edit(text, changes)),
    }
}

/// The value at `path`, if present.
pub fn read(format: Format, text: &str, path: &[String]) -> Result<Option<Value>, String> {
    match format {
        Format::Json => json::read(text, path),
        Format::Toml => toml::read(text, path),
        Format::Dotenv => Ok(lines::read(text, path, lines::Style::Dotenv)),
        Format::Yaml => Ok(lines::read(text, path, lines::Style::Yaml)),
        Format::YamlList => Ok(list::read(text, path)),
    }
}

/// Whether the object or table at `path` exists.
pub fn has_object(format: Format, text: &str, path: &[String]) -> Result<bool, String> {
    Ok(matches!(read(format, text, path)?, Some(Value::Object(_))))
}

mod json {
    use super::*;

    fn parse(text: &str) -> Result<CstRootNode, String> {
        // A new or empty file starts as an empty object.
        let source = if text.trim().is_empty() { "{}\n" } else { text };
        CstRootNode::parse(source, &options()).map_err(|err| err.to_string())
    }

    /// JSONC as the tools read it (VS Code's dialect): comments and trailing
    /// commas, nothing looser. A missing comma is a mistake to report, not
    /// something to guess around.
    fn options() -> ParseOptions {
        ParseOptions {
            allow_comments: true,
            allow_trailing_commas: true,
            allow_loose_object_property_names: false,
            allow_missing_commas: false,
            allow_single_quoted_strings: false,
            allow_hexadecimal_numbers: false,
            allow_unary_plus_numbers: false,
            allow_bare_decimal_point_numbers: false,
            allow_non_finite_numbers: false,
            allow_extended_string_escapes: false,
        }
    }

    fn object_at(root: &CstRootNode, path: &[String]) -> Option<CstObject> {
        let mut object = root.object_value()?;
        for key in path {
            object = object.object_value(key)?;
        }
        Some(object)
    }

    pub(super) fn read(text: &str, path: &[String]) -> Result<Option<Value>, String> {
        let root = parse(text)?;
        let Some((last, parents)) = path.split_last() else {
            return Ok(root.value().and_then(|value| value.to_serde_value()));
        };
        Ok(object_at(&root, parents)
            .and_then(|object| object.get(last))
            .and_then(|prop| prop.value())
            .and_then(|value| value.to_serde_value()))
    }

    pub(super) fn edit(text: &str, changes: &[Change]) -> Result<String, String> {
        let root = parse(text)?;
        if root.value().is_some() && root.object_value().is_none() {
            return Err("the top level is not an object".into());
        }
        for change in changes {
            match change {
                Change::Set(path, value) => {
                    let Some((last, parents)) = path.split_last() else {
                        continue;
                    };
                    let mut object = root.object_value_or_set();
                    for key in parents {
                        object = object.object_value_or_set(key);
                    }
                    match object.get(last) {
                        Some(prop) => {
                            if prop.value().and_then(|v| v.to_serde_value()).as_ref() != Some(value) {
                                prop.set_value(input(value));
                            }
                        }
                        None => {
                            object.append(last, input(value));
                        }
                    }
                }
                Change::Remove(path) => {
                    let Some((last, parents)) = path.split_last() else {
                        continue;
                    };
                    if let Some(prop) = object_at(&root, parents).and_then(|object| object.get(last)) {
                        prop.remove();
                    }
                }
                Change::Prune(path) => {
                    let Some((last, parents)) = path.split_last() else {
                        continue;
                    };
                    if let Some(parent) = object_at(&root, parents)
                        && let Some(object) = parent.object_value(last)
                        && object.properties().is_empty()
                        && let Some(prop) = parent.get(last)
                    {
                        prop.remove();
                    }
                }
            }
        }
        Ok(root.to_string())
    }

    /// A JSON value as the CST takes it.
    fn input(value: &Value) -> CstInputValue {
        match value {
            Value::Null => CstInputValue::Null,
            Value::Bool(b) => CstInputValue::Bool(*b),
            Value::Number(n) => CstInputValue::Number(n.to_string()),
            Value::String(s) => CstInputValue::String(s.clone()),
            Value::Array(items) => CstInputValue::Array(items.iter().map(input).collect()),
            Value::Object(map) => CstInputValue::Object(map.iter().map(|(k, v)| (k.clone(), input(v))).collect()),
        }
    }
}

mod toml {
    use super::*;

    fn parse(text: &str) -> Result<DocumentMut, String> {
        text.parse::<DocumentMut>()
            .map_err(|err| err.to_string().trim_end().to_string())
    }

    fn table_at<'a>(doc: &'a DocumentMut, path: &[String]) -> Option<&'a dyn TableLike> {
        let mut table: &dyn TableLike = doc.as_table();
        for key in path {
            table = table.get(key)?.as_table_like()?;
        }
        Some(table)
    }

    fn table_at_mut<'a>(doc: &'a mut DocumentMut, path: &[String], create: bool) -> Option<&'a mut dyn TableLike> {
        let mut table: &mut dyn TableLike = doc.as_table_mut();
        for key in path {
            if table.get(key).is_none_or(|item| !item.is_table_like()) {
                if !create {
                    return None;
                }
                let mut new = toml_edit::Table::new();
                // Shown as a header only when it gets keys of its own.
                new.set_implicit(true);
                table.insert(key, Item::Table(new));
            }
            table = table.get_mut(key)?.as_table_like_mut()?;
        }
        Some(table)
    }

    pub(super) fn read(text: &str, path: &[String]) -> Result<Option<Value>, String> {
        let doc = parse(text)?;
        let Some((last, parents)) = path.split_last() else {
            return Ok(None);
        };
        Ok(table_at(&doc, parents).and_then(|table| table.get(last)).map(item_json))
    }

    pub(super) fn edit(text: &str, changes: &[Change]) -> Result<String, String> {
        let mut doc = parse(text)?;
        for change in changes {
            match change {
                Change::Set(path, value) => {
                    let Some((last, parents)) = path.split_last() else {
                        continue;
                    };
                    let table = table_at_mut(&mut doc, parents, true).ok_or("a key on the way is not a table")?;
                    if table.get(last).map(item_json).as_ref() == Some(value) {
                        continue;
                    }
                    let mut new = toml_value(value);
                    if let Some(old) = table.get_mut(last).and_then(|item| item.as_value_mut()) {
                        // Keep the comments and spacing around the old value.
                        *new.decor_mut() = old.decor().clone();
                        *old = new;
                    } else {
                        table.insert(last, Item::Value(new));
                    }
                }
                Change::Remove(path) => {
                    let Some((last, parents)) = path.split_last() else {
                        continue;
                    };
                    if let Some(table) = table_at_mut(&mut doc, parents, false) {
                        table.remove(last);
                    }
                }
                Change::Prune(path) => {
                    let Some((last, parents)) = path.split_last() else {
                        continue;
                    };
                    if let Some(table) = table_at_mut(&mut doc, parents, false)
                        && table
                            .get(last)
                            .and_then(|item| item.as_table_like())
                            .is_some_and(|t| t.is_empty())
                    {
                        table.remove(last);
                    }
                }
            }
        }
        Ok(doc.to_string())
    }

    fn toml_value(value: &Value) -> toml_edit::Value {
        match value {
            Value::Null => toml_edit::Value::from(""),
            Value::Bool(b) => (*b).into(),
            Value::Number(n) => match n.as_i64() {
                Some(i) => i.into(),
                None => n.as_f64().unwrap_or_default().into(),
            },
            Value::String(s) => s.as_str().into(),
            Value::Array(items) => toml_edit::Value::Array(items.iter().map(toml_value).collect()),
            Value::Object(map) => {
                let mut table = toml_edit::InlineTable::new();
                for (k, v) in map {
                    table.insert(k, toml_value(v));
                }
                toml_edit::Value::InlineTable(table)
            }
        }
    }

    fn item_json(item: &Item) -> Value {
        match item {
            Item::Value(value) => value_json(value),
            Item::Table(table) => table_json(table),
            Item::ArrayOfTables(array) => Value::Array(array.iter().map(|t| table_json(t)).collect()),
            Item::None => Value::Null,
        }
    }

    fn table_json(table: &dyn TableLike) -> Value {
        Value::Object(table.iter().map(|(k, v)| (k.to_string(), item_json(v))).collect())
    }

    fn value_json(value: &toml_edit::Value) -> Value {
        match value {
            toml_edit::Value::String(s) => Value::String(s.value().clone()),
            toml_edit::Value::Integer(i) => Value::from(*i.value()),
            toml_edit::Value::Float(f) => Value::from(*f.value()),
            toml_edit::Value::Boolean(b) => Value::Bool(*b.value()),
            toml_edit::Value::Datetime(d) => Value::String(d.value().to_string()),
            toml_edit::Value::Array(a) => Value::Array(a.iter().map(value_json).collect()),
            toml_edit::Value::InlineTable(t) => table_json(t),
        }
    }
}

mod lines {
    use super::*;

    #[derive(Clone, Copy)]
    pub(super) enum Style {
        Dotenv,
        Yaml,
    }

    /// The line's value when it sets `key`.
    fn value_of<'a>(line: &'a str, key: &str, style: Style) -> Option<&'a str> {
        match style {
            Style::Dotenv => {
                let line = line.trim_start();
                let line = line.strip_prefix("export ").map_or(line, str::trim_start);
                line.strip_prefix(key)?.trim_start().strip_prefix('=').map(str::trim)
            }
            // Top-level keys only: no indentation.
            Style::Yaml => line.strip_prefix(key)?.strip_prefix(':').map(str::trim),
        }
    }

    pub(super) fn unquote(raw: &str) -> String {
        let raw = raw.trim();
        if raw.len() >= 2 && raw.starts_with('"') && raw.ends_with('"') {
            return serde_json::from_str::<String>(raw).unwrap_or_else(|_| raw[1..raw.len() - 1].to_string());
        }
        if raw.len() >= 2 && raw.starts_with('\'') && raw.ends_with('\'') {
            return raw[1..raw.len() - 1].to_string();
        }
        raw.to_string()
    }

    fn render(key: &str, value: &Value, style: Style) -> String {
        let text = match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let plain = !text.is_empty() && text.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:@+".contains(c));
        let text = if plain { text } else { Value::String(text).to_string() };
        match style {
            Style::Dotenv => format!("{key}={text}"),
            Style::Yaml => format!("{key}: {text}"),
        }
    }

    pub(super) fn scalar(key: &str, value: &Value) -> String {
        render(key, value, Style::Yaml)
    }

    pub(super) fn read(text: &str, path: &[String], style: Style) -> Option<Value> {
        let [key] = path else { return None };
        text.lines()
            .filter(|line| !line.trim_start().starts_with('#'))
            .find_map(|line| value_of(line, key, style))
            .map(|raw| Value::String(unquote(raw)))
    }

    pub(super) fn edit(text: &str, changes: &[Change], style: Style) -> String {
        let mut out = text.to_string();
        for change in changes {
            out = match change {
                Change::Set(path, value) => {
                    let [key] = path.as_slice() else { continue };
                    set(&out, key, value, style)
                }
                Change::Remove(path) => {
                    let [key] = path.as_slice() else { continue };
                    out.split_inclusive('\n')
                        .filter(|line| line.trim_start().starts_with('#') || value_of(line, key, style).is_none())
                        .collect()
                }
                Change::Prune(_) => continue,
            };
        }
        out
    }

    fn set(text: &str, key: &str, value: &Value, style: Style) -> String {
        let mut found = false;
        let mut out = String::with_capacity(text.len() + 64);
        for line in text.split_inclusive('\n') {
            let body = line.trim_end_matches(['\n', '\r']);
            if !found && !body.trim_start().starts_with('#') && value_of(body, key, style).is_some() {
                found = true;
                if read(body, &[key.to_string()], style).as_ref() == Some(value) {
                    out.push_str(line);
                } else {
                    let prefix = if body.trim_start().starts_with("export ") {
                        "export "
                    } else {
                        ""
                    };
                    out.push_str(prefix);
                    out.push_str(&render(key, value, style));
                    out.push_str(&line[body.len()..]);
                }
            } else {
                out.push_str(line);
            }
        }
        if !found {
            if !out.is_empty() && !out.ends_with('\n') {
                out.push('\n');
            }
            out.push_str(&render(key, value, style));
            out.push('\n');
        }
        out
    }
}

mod list {
    use super::*;

    /// The byte range of the entry `- model_id: ID` and its indented lines.
    fn block(text: &str, id: &str) -> Option<std::ops::Range<usize>> {
        let mut start = None;
        let mut at = 0;
        for line in text.split_inclusive('\n') {
            let body = line.trim_end();
            match start {
                None => {
                    if let Some(rest) = body.strip_prefix("- model_id:")
                        && lines::unquote(rest) == id
                    {
                        start = Some(at);
                    }
                }
                Some(begin) => {
                    if !line.starts_with([' ', '\t']) || body.trim_start().starts_with('-') {
                        return Some(begin..at);
                    }
                }
            }
            at += line.len();
        }
        start.map(|begin| begin..text.len())
    }

    pub(super) fn read(text: &str, path: &[String]) -> Option<Value> {
        let [id] = path else { return None };
        let range = block(text, id)?;
        let fields = text[range]
            .lines()
            .skip(1)
            .filter_map(|line| line.trim().split_once(':'))
            .map(|(k, v)| (k.trim().to_string(), Value::String(lines::unquote(v))))
            .collect();
        Some(Value::Object(fields))
    }

    fn render(id: &str, value: &Value) -> String {
        let mut out = format!("- {}\n", lines::scalar("model_id", &Value::String(id.to_string())));
        if let Value::Object(fields) = value {
            for (k, v) in fields {
                out.push_str(&format!("  {}\n", lines::scalar(k, v)));
            }
        }
        out
    }

    pub(super) fn edit(text: &str, changes: &[Change]) -> String {
        let mut out = text.to_string();
        for change in changes {
            match change {
                Change::Set(path, value) => {
                    let [id] = path.as_slice() else { continue };
                    if read(&out, path).as_ref() == Some(value) {
                        continue;
                    }
                    match block(&out, id) {
                        Some(range) => out.replace_range(range, &render(id, value)),
                        None => {
                            if !out.is_empty() && !out.ends_with('\n') {
                                out.push('\n');
                            }
                            out.push_str(&render(id, value));
                        }
                    }
                }
                Change::Remove(path) => {
                    let [id] = path.as_slice() else { continue };
                    if let Some(range) = block(&out, id) {
                        out.replace_range(range, "");
                    }
                }
                Change::Prune(_) => {}
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn path(keys: &[&str]) -> Vec<String> {
        keys.iter().map(|k| k.to_string()).collect()
    }

    #[test]
    fn jsonc_keeps_comments_and_unknown_keys() {
        let text = "{\n  // mine\n  \"theme\": \"dark\", /* keep */\n  \"env\": {\"X\": \"1\"},\n}\n";
        let out = edit(
            Format::Json,
            text,
            &[Change::Set(
                path(&["env", "ANTHROPIC_BASE_URL"]),
                json!("http://127.0.0.1:8045"),
            )],
        )
        .unwrap();
        assert!(out.contains("// mine") && out.contains("/* keep */") && out.contains("\"theme\": \"dark\""));
        assert_eq!(
            read(Format::Json, &out, &path(&["env", "ANTHROPIC_BASE_URL"])).unwrap(),
            Some(json!("http://127.0.0.1:8045"))
        );
        let back = edit(
            Format::Json,
            &out,
            &[Change::Remove(path(&["env", "ANTHROPIC_BASE_URL"]))],
        )
        .unwrap();
        assert_eq!(
            read(Format::Json, &back, &path(&["env", "X"])).unwrap(),
            Some(json!("1"))
        );
        assert!(back.contains("// mine"));
    }

    #[test]
    fn json_new_file_and_prune() {
        let out = edit(Format::Json, "", &[Change::Set(path(&["a", "b"]), json!("c"))]).unwrap();
        assert_eq!(serde_json::from_str::<Value>(&out).unwrap(), json!({"a": {"b": "c"}}));
        let out = edit(
            Format::Json,
            &out,
            &[Change::Remove(path(&["a", "b"])), Change::Prune(path(&["a"]))],
        )
        .unwrap();
        assert_eq!(serde_json::from_str::<Value>(&out).unwrap(), json!({}));
    }

    #[test]
    fn json_error_names_the_line() {
        let err = edit(Format::Json, "{\n  \"a\": 1,\n  \"b\" 2\n}\n", &[]).unwrap_err();
        assert!(err.contains("line 3"), "{err}");
    }

    #[test]
    fn toml_keeps_comments_and_makes_tables() {
        let text = "# my codex\nmodel = \"o3\" # fav\n\n[tui]\nnotifications = true\n";
        let out = edit(
            Format::Toml,
            text,
            &[
                Change::Set(path(&["model"]), json!("gpt-5")),
                Change::Set(
                    path(&["model_providers", "switchyard", "base_url"]),
                    json!("http://x/v1"),
                ),
            ],
        )
        .unwrap();
        assert!(out.starts_with("# my codex\nmodel = \"gpt-5\" # fav\n"), "{out}");
        assert!(
            out.contains("[model_providers.switchyard]\nbase_url = \"http://x/v1\"\n"),
            "{out}"
        );
        assert!(out.contains("[tui]\nnotifications = true\n"));
        let back = edit(
            Format::Toml,
            &out,
            &[
                Change::Set(path(&["model"]), json!("o3")),
                Change::Remove(path(&["model_providers", "switchyard", "base_url"])),
                Change::Prune(path(&["model_providers", "switchyard"])),
                Change::Prune(path(&["model_providers"])),
            ],
        )
        .unwrap();
        assert_eq!(back, text);
    }

    #[test]
    fn toml_error_names_the_line() {
        let err = edit(Format::Toml, "a = 1\nb = = 2\n", &[]).unwrap_err();
        assert!(err.contains("line 2"), "{err}");
    }

    #[test]
    fn dotenv_replaces_in_place_and_appends() {
        let text = "# keys\nexport GEMINI_API_KEY=old\nOTHER=1";
        let out = edit(
            Format::Dotenv,
            text,
            &[
                Change::Set(path(&["GEMINI_API_KEY"]), json!("sk-new")),
                Change::Set(path(&["GOOGLE_GEMINI_BASE_URL"]), json!("http://127.0.0.1:8045")),
            ],
        )
        .unwrap();
        assert_eq!(
            out,
            "# keys\nexport GEMINI_API_KEY=sk-new\nOTHER=1\nGOOGLE_GEMINI_BASE_URL=http://127.0.0.1:8045\n"
        );
        assert_eq!(read(Format::Dotenv, &out, &path(&["OTHER"])).unwrap(), Some(json!("1")));
        let back = edit(
            Format::Dotenv,
            &out,
            &[Change::Remove(path(&["GOOGLE_GEMINI_BASE_URL"]))],
        )
        .unwrap();
        assert_eq!(back, "# keys\nexport GEMINI_API_KEY=sk-new\nOTHER=1\n");
    }

    #[test]
    fn yaml_list_entry_by_model_id() {
        let text = "# mine\n- model_id: other\n  model_name: x\n";
        let entry = json!({"model_name": "m", "api_base": "http://127.0.0.1:8045/v1"});
        let out = edit(
            Format::YamlList,
            text,
            &[Change::Set(path(&["switchyard"]), entry.clone())],
        )
        .unwrap();
        assert_eq!(
            out,
            "# mine\n- model_id: other\n  model_name: x\n- model_id: switchyard\n  model_name: m\n  api_base: http://127.0.0.1:8045/v1\n"
        );
        assert_eq!(
            read(Format::YamlList, &out, &path(&["switchyard"])).unwrap(),
            Some(entry)
        );
        let back = edit(Format::YamlList, &out, &[Change::Remove(path(&["switchyard"]))]).unwrap();
        assert_eq!(back, text);
    }

    #[test]
    fn yaml_top_level_keys() {
        let text = "# aider\ndark-mode: true\nmodel: gpt-4o\n";
        let out = edit(
            Format::Yaml,
            text,
            &[Change::Set(path(&["model"]), json!("openai/gemini 2"))],
        )
        .unwrap();
        assert_eq!(out, "# aider\ndark-mode: true\nmodel: \"openai/gemini 2\"\n");
        assert_eq!(
            read(Format::Yaml, &out, &path(&["model"])).unwrap(),
            Some(json!("openai/gemini 2"))
        );
    }
}
