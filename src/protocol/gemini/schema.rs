//! Translation between JSON Schema (what the model carries in
//! [`FunctionTool::parameters`](crate::protocol::model::FunctionTool)) and
//! Gemini's `Schema` object (a select subset of OpenAPI 3.0).
//!
//! Gemini's `functionDeclarations[].parameters` is a typed protobuf message:
//! any keyword it does not know is a 400 ("Cannot find field"), `type` must be
//! a single name, and objects with an empty `properties` map are refused.
//! Real tool schemas (Claude Code's, MCP servers', Pydantic's) use all of
//! these, so [`cleanup_schema`] rewrites them into the accepted subset rather
//! than passing them on and failing the whole request. It works from an
//! allow-list: the keywords Gemini documents survive, everything else is
//! dropped, which covers `$schema`, `additionalProperties`, `default`, `$id`,
//! `examples`, `exclusiveMinimum`, `patternProperties`, `propertyNames`,
//! `unevaluatedProperties`, `title` and whatever JSON Schema adds next.
//!
//! The other direction, [`from_gemini_schema`], turns a Gemini `Schema` sent by
//! a google-genai client (upper-case `TYPE` names, `nullable`, snake_case keys
//! from the Python SDK) into plain JSON Schema so that OpenAI and Anthropic
//! upstreams accept it.

use serde_json::{Map, Value};

/// How deep `$ref` expansion may nest before a reference is cut off; stops
/// recursive schemas (a tree node that contains nodes) from expanding forever.
const MAX_REF_DEPTH: usize = 8;

/// How many `$ref`s one schema may inline in all.
const MAX_REFS_INLINED: usize = 256;

/// Keywords of Gemini's `Schema` that [`cleanup_schema`] keeps when their
/// value is well-formed (the ones with sub-schemas are handled separately).
const SCALAR_KEYWORDS: &[&str] = &[
    "description",
    "pattern",
    "minimum",
    "maximum",
    "minItems",
    "maxItems",
    "minLength",
    "maxLength",
    "minProperties",
    "maxProperties",
];

/// Rewrites a JSON Schema into the subset Gemini's `Schema` accepts.
///
/// - `$ref`s into `$defs`/`definitions` are inlined (recursive references are
///   cut after a few levels and become a plain object); other refs are dropped.
/// - `type: ["string", "null"]` becomes `type: "string", nullable: true`; a
///   list of several types becomes an `anyOf`.
/// - `oneOf` becomes `anyOf` (Gemini has no `oneOf`); a `{"type": "null"}`
///   branch becomes `nullable`; a union with one branch left is inlined; an
///   `allOf` is merged into its parent.
/// - `const` becomes an `enum` of one; `enum` values become strings (Gemini's
///   `enum` is a string list) and `null` in them becomes `nullable`.
/// - `format` survives only as `enum` or `date-time`, the two the Gemini API
///   accepts.
/// - `properties`/`required` survive only on objects, an empty `properties`
///   map is removed, and `required` keeps only names that exist.
pub fn cleanup_schema(schema: &Value) -> Value {
    let mut refs = Refs {
        root: schema,
        stack: Vec::new(),
        inlined: 0,
    };
    clean(schema, &mut refs)
}

/// Where `$ref`s are resolved, and how much inlining they have cost so far.
struct Refs<'a> {
    /// The root schema, which local references point into.
    root: &'a Value,
    /// The references being expanded, outermost first (for cycles).
    stack: Vec<String>,
    /// References inlined so far: a schema whose definitions each refer to
    /// the next several times would otherwise grow exponentially.
    inlined: usize,
}

impl<'a> Refs<'a> {
    /// The schema a local reference (`#/$defs/Name`, `#/definitions/Name`,
    /// or any other JSON pointer into the root) names.
    fn resolve(&self, reference: &str) -> Option<&'a Value> {
        let pointer = reference.strip_prefix('#')?;
        if pointer.is_empty() {
            return Some(self.root);
        }
        self.root.pointer(pointer)
    }
}

fn clean(schema: &Value, refs: &mut Refs<'_>) -> Value {
    let Some(object) = schema.as_object() else {
        // `true`/`false` schemas and garbage: Gemini needs an object.
        return Value::Object(Map::new());
    };

    if let Some(reference) = object.get("$ref").and_then(Value::as_str) {
        return clean_ref(object, reference, refs);
    }

    let mut object = object.clone();
    merge_all_of(&mut object);

    let mut out = Map::new();
    let mut nullable = object.get("nullable").and_then(Value::as_bool).unwrap_or(false);

    // `type`: a name, or a list of names of which `null` means nullable.
    let mut extra_types = Vec::new();
    match object.get("type") {
        Some(Value::String(name)) if name.eq_ignore_ascii_case("null") => nullable = true,
        Some(Value::String(name)) => {
            out.insert("type".into(), Value::String(name.to_ascii_lowercase()));
        }
        Some(Value::Array(names)) => {
            let mut names: Vec<String> = names
                .iter()
                .filter_map(Value::as_str)
                .filter(|name| {
                    let is_null = name.eq_ignore_ascii_case("null");
                    nullable |= is_null;
                    !is_null
                })
                .map(str::to_ascii_lowercase)
                .collect();
            if !names.is_empty() {
                let first = names.remove(0);
                out.insert("type".into(), Value::String(first));
                extra_types = names;
            }
        }
        _ => {}
    }
    if !out.contains_key("type") && (object.contains_key("properties") || object.contains_key("required")) {
        // JSON Schema allows an implicit object; Gemini says "only allowed for OBJECT type".
        out.insert("type".into(), Value::String("object".into()));
    }

    if let Some(format) = object.get("format").and_then(Value::as_str)
        && (format == "enum" || format == "date-time")
    {
        out.insert("format".into(), Value::String(format.into()));
    }
    for key in SCALAR_KEYWORDS {
        if let Some(value) = object.get(*key) {
            let keep = match *key {
                "description" | "pattern" => value.is_string(),
                _ => value.is_number(),
            };
            if keep {
                out.insert((*key).into(), value.clone());
            }
        }
    }

    // `enum` and `const`: Gemini's enum is a list of strings.
    let enum_values = match (object.get("enum"), object.get("const")) {
        (Some(Value::Array(values)), _) => Some(values.clone()),
        (_, Some(value)) => Some(vec![value.clone()]),
        _ => None,
    };
    if let Some(values) = enum_values {
        let mut strings = Vec::new();
        for value in values {
            match value {
                Value::Null => nullable = true,
                Value::String(text) => strings.push(Value::String(text)),
                other => strings.push(Value::String(other.to_string())),
            }
        }
        if !strings.is_empty() {
            out.insert("enum".into(), Value::Array(strings));
        }
    }

    let is_object = out.get("type").and_then(Value::as_str) == Some("object");
    let is_array = out.get("type").and_then(Value::as_str) == Some("array");

    if is_object && let Some(Value::Object(properties)) = object.get("properties") {
        let cleaned: Map<String, Value> = properties
            .iter()
            .map(|(name, property)| (name.clone(), clean(property, refs)))
            .collect();
        if !cleaned.is_empty() {
            if let Some(Value::Array(required)) = object.get("required") {
                let required: Vec<Value> = required
                    .iter()
                    .filter(|name| name.as_str().is_some_and(|name| cleaned.contains_key(name)))
                    .cloned()
                    .collect();
                if !required.is_empty() {
                    out.insert("required".into(), Value::Array(required));
                }
            }
            out.insert("properties".into(), Value::Object(cleaned));
        }
    }
    if is_array && let Some(items) = object.get("items") {
        // Draft 4 tuple form (`items: [..]`): keep the first item schema.
        let items = match items {
            Value::Array(list) => list.first(),
            other => Some(other),
        };
        if let Some(items) = items {
            out.insert("items".into(), clean(items, refs));
        }
    }

    // Unions: `anyOf`, `oneOf`, and the extra names of a `type` list.
    let mut branches: Vec<Value> = Vec::new();
    for key in ["anyOf", "oneOf"] {
        if let Some(Value::Array(list)) = object.get(key) {
            for branch in list {
                let branch = clean(branch, refs);
                match branch.as_object() {
                    Some(object) if is_null_schema(object) => nullable = true,
                    // `{}` (anything) narrows nothing Gemini could use.
                    Some(object) if object.is_empty() => {}
                    _ => branches.push(branch),
                }
            }
        }
    }
    if !extra_types.is_empty() {
        // `type: [a, b]` → `anyOf: [{type: a}, {type: b}]`, the rest stays on the parent.
        let mut typed = Vec::new();
        if let Some(first) = out.remove("type") {
            typed.push(single_type(first));
        }
        typed.extend(extra_types.into_iter().map(|name| single_type(Value::String(name))));
        branches.extend(typed);
    }
    match branches.len() {
        0 => {}
        1 => {
            // A union of one (what `Optional[X]` becomes once `null` is gone): inline it.
            if let Some(Value::Object(branch)) = branches.pop() {
                for (key, value) in branch {
                    out.entry(key).or_insert(value);
                }
            }
        }
        _ => {
            out.insert("anyOf".into(), Value::Array(branches));
        }
    }
    // A `null` branch or type may have been inlined away above: say so once.
    if out.get("nullable").and_then(Value::as_bool) == Some(true) {
        nullable = true;
    }
    if nullable {
        out.insert("nullable".into(), Value::Bool(true));
    }
    Value::Object(out)
}

/// Inlines a `$ref`, keeping the referring schema's own description.
fn clean_ref(object: &Map<String, Value>, reference: &str, refs: &mut Refs<'_>) -> Value {
    let target = refs.resolve(reference);
    let cyclic = refs.stack.iter().any(|seen| seen == reference) || refs.stack.len() >= MAX_REF_DEPTH;
    let mut out = match target {
        Some(target) if !cyclic && refs.inlined < MAX_REFS_INLINED => {
            refs.inlined += 1;
            refs.stack.push(reference.to_string());
            let cleaned = clean(target, refs);
            refs.stack.pop();
            cleaned
        }
        // A recursive, unresolvable or too costly reference: an object the model may fill freely.
        _ => serde_json::json!({"type": "object"}),
    };
    if let (Value::Object(out), Some(description)) = (&mut out, object.get("description").and_then(Value::as_str)) {
        out.insert("description".into(), Value::String(description.into()));
    }
    out
}

/// Folds `allOf` branches into the schema itself: properties and `required`
/// are united, other keywords are taken from the first branch that has them.
fn merge_all_of(object: &mut Map<String, Value>) {
    let Some(Value::Array(branches)) = object.remove("allOf") else {
        return;
    };
    for branch in branches {
        let Value::Object(branch) = branch else {
            continue;
        };
        for (key, value) in branch {
            match (key.as_str(), object.get_mut(&key), value) {
                ("properties", Some(Value::Object(mine)), Value::Object(theirs)) => {
                    for (name, property) in theirs {
                        mine.entry(name).or_insert(property);
                    }
                }
                ("required", Some(Value::Array(mine)), Value::Array(theirs)) => {
                    for name in theirs {
                        if !mine.contains(&name) {
                            mine.push(name);
                        }
                    }
                }
                (_, Some(_), _) => {}
                (_, None, value) => {
                    object.insert(key, value);
                }
            }
        }
    }
}

/// What `{"type": "null"}` has become once cleaned.
fn is_null_schema(object: &Map<String, Value>) -> bool {
    object.len() == 1 && object.get("nullable") == Some(&Value::Bool(true))
}

fn single_type(name: Value) -> Value {
    let mut out = Map::new();
    out.insert("type".into(), name);
    Value::Object(out)
}

/// Turns a Gemini `Schema` (as google-genai clients send it in
/// `functionDeclarations[].parameters` or `responseSchema`) into JSON Schema:
/// `TYPE` names lower-cased, `nullable: true` folded into a `type` list,
/// snake_case keys from the Python SDK renamed, and the Gemini-only
/// `propertyOrdering` and `format: enum` dropped.
pub fn from_gemini_schema(schema: &Value) -> Value {
    let Some(object) = schema.as_object() else {
        return schema.clone();
    };
    let mut out = Map::new();
    let mut nullable = false;
    for (key, value) in object {
        let key = camel_case(key);
        match key.as_str() {
            "type" => {
                if let Some(name) = value.as_str() {
                    let name = name.to_ascii_lowercase();
                    if name != "type_unspecified" {
                        out.insert(key, Value::String(name));
                    }
                }
            }
            "nullable" => nullable = value.as_bool().unwrap_or(false),
            "propertyOrdering" => {}
            "format" if value.as_str() == Some("enum") => {}
            "properties" | "defs" | "$defs" => {
                let key = if key == "defs" { "$defs".to_string() } else { key };
                let converted = match value {
                    Value::Object(map) => Value::Object(
                        map.iter()
                            .map(|(name, property)| (name.clone(), from_gemini_schema(property)))
                            .collect(),
                    ),
                    other => other.clone(),
                };
                out.insert(key, converted);
            }
            "items" | "additionalProperties" => {
                out.insert(key, from_gemini_schema(value));
            }
            "anyOf" => {
                let converted = match value {
                    Value::Array(list) => Value::Array(list.iter().map(from_gemini_schema).collect()),
                    other => other.clone(),
                };
                out.insert(key, converted);
            }
            "ref" => {
                out.insert("$ref".into(), value.clone());
            }
            // Proto int64 fields may arrive as JSON strings; JSON Schema wants numbers.
            "minItems" | "maxItems" | "minLength" | "maxLength" | "minProperties" | "maxProperties" => {
                let number = value.as_str().and_then(|text| text.parse::<u64>().ok());
                out.insert(key, number.map_or_else(|| value.clone(), Value::from));
            }
            _ => {
                out.insert(key, value.clone());
            }
        }
    }
    if nullable {
        match out.get_mut("type") {
            Some(Value::String(name)) => {
                let name = std::mem::take(name);
                out.insert("type".into(), serde_json::json!([name, "null"]));
            }
            _ => {
                if let Some(Value::Array(list)) = out.get_mut("anyOf") {
                    list.push(serde_json::json!({"type": "null"}));
                }
            }
        }
    }
    Value::Object(out)
}

/// `max_items` → `maxItems`; keys that are already camelCase pass unchanged.
fn camel_case(key: &str) -> String {
    if !key.contains('_') || key.starts_with('$') {
        return key.to_string();
    }
    let mut out = String::with_capacity(key.len());
    let mut upper = false;
    for ch in key.chars() {
        if ch == '_' {
            upper = true;
        } else if upper {
            out.extend(ch.to_uppercase());
            upper = false;
        } else {
            out.push(ch);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    #[test]
    fn claude_code_like_tool_schema_is_accepted_subset() {
        let schema = json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "command": {"type": "string", "description": "The command to execute"},
                "timeout": {"type": "number", "description": "Optional timeout in milliseconds (max 600000)", "exclusiveMinimum": 0, "default": 120000},
                "run_in_background": {"type": "boolean", "default": false},
                "title": {"type": "string", "title": "Title", "examples": ["x"]}
            },
            "required": ["command", "missing"]
        });
        assert_eq!(
            cleanup_schema(&schema),
            json!({
                "type": "object",
                "properties": {
                    "command": {"type": "string", "description": "The command to execute"},
                    "timeout": {"type": "number", "description": "Optional timeout in milliseconds (max 600000)"},
                    "run_in_background": {"type": "boolean"},
                    "title": {"type": "string"}
                },
                "required": ["command"]
            })
        );
    }

    #[test]
    fn nullable_type_lists_and_unions() {
        let schema = json!({
            "type": "object",
            "properties": {
                "a": {"type": ["string", "null"]},
                "b": {"anyOf": [{"type": "integer"}, {"type": "null"}], "description": "b"},
                "c": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
                "d": {"type": ["string", "integer"]},
                "e": {"type": "NULL"}
            }
        });
        assert_eq!(
            cleanup_schema(&schema),
            json!({
                "type": "object",
                "properties": {
                    "a": {"type": "string", "nullable": true},
                    "b": {"type": "integer", "description": "b", "nullable": true},
                    "c": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
                    "d": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
                    "e": {"nullable": true}
                }
            })
        );
    }

    #[test]
    fn refs_into_defs_are_inlined_and_recursion_is_cut() {
        let schema = json!({
            "type": "object",
            "$defs": {
                "Color": {"type": "string", "enum": ["red", "green"]},
                "Node": {"type": "object", "properties": {"child": {"$ref": "#/$defs/Node"}, "name": {"type": "string"}}}
            },
            "definitions": {"Size": {"type": "integer", "const": 3}},
            "properties": {
                "color": {"$ref": "#/$defs/Color", "description": "paint"},
                "size": {"$ref": "#/definitions/Size"},
                "tree": {"$ref": "#/$defs/Node"},
                "remote": {"$ref": "https://example.com/schema.json"}
            }
        });
        assert_eq!(
            cleanup_schema(&schema),
            json!({
                "type": "object",
                "properties": {
                    "color": {"type": "string", "enum": ["red", "green"], "description": "paint"},
                    "size": {"type": "integer", "enum": ["3"]},
                    "tree": {"type": "object", "properties": {
                        "child": {"type": "object"},
                        "name": {"type": "string"}
                    }},
                    "remote": {"type": "object"}
                }
            })
        );
    }

    #[test]
    fn enums_formats_all_of_and_misplaced_keywords() {
        let schema = json!({
            "properties": {
                "when": {"type": "string", "format": "date-time"},
                "uri": {"type": "string", "format": "uri", "minLength": 1},
                "mode": {"type": "string", "enum": ["a", null]},
                "level": {"type": "integer", "enum": [1, 2]},
                "empty": {"type": "object", "properties": {}},
                "weird": {"type": "string", "properties": {"x": {"type": "string"}}, "required": ["x"]},
                "list": {"type": "array", "items": {"type": "string", "pattern": "^a"}, "uniqueItems": true, "maxItems": 3},
                "both": {"allOf": [
                    {"type": "object", "properties": {"x": {"type": "string"}}, "required": ["x"]},
                    {"properties": {"y": {"type": "string"}}, "required": ["y"]}
                ]}
            },
            "patternProperties": {"^x": {}},
            "propertyNames": {"pattern": "^[a-z]+$"},
            "unevaluatedProperties": false
        });
        assert_eq!(
            cleanup_schema(&schema),
            json!({
                "type": "object",
                "properties": {
                    "when": {"type": "string", "format": "date-time"},
                    "uri": {"type": "string", "minLength": 1},
                    "mode": {"type": "string", "enum": ["a"], "nullable": true},
                    "level": {"type": "integer", "enum": ["1", "2"]},
                    "empty": {"type": "object"},
                    "weird": {"type": "string"},
                    "list": {"type": "array", "maxItems": 3, "items": {"type": "string", "pattern": "^a"}},
                    "both": {"type": "object", "properties": {"x": {"type": "string"}, "y": {"type": "string"}}, "required": ["x", "y"]}
                }
            })
        );
    }

    #[test]
    fn reference_fan_out_is_bounded() {
        // Each level refers to the next ten times: 10^8 copies if inlined naively.
        let mut defs = serde_json::Map::new();
        for level in 0..8 {
            let next = json!({"$ref": format!("#/$defs/L{}", level + 1)});
            let properties: serde_json::Map<String, Value> = (0..10).map(|i| (format!("p{i}"), next.clone())).collect();
            defs.insert(format!("L{level}"), json!({"type": "object", "properties": properties}));
        }
        defs.insert("L8".into(), json!({"type": "string"}));
        let schema = json!({"$defs": defs, "$ref": "#/$defs/L0"});
        let cleaned = cleanup_schema(&schema);
        assert!(
            cleaned.to_string().len() < 200_000,
            "{} bytes",
            cleaned.to_string().len()
        );
        assert_eq!(cleaned["properties"]["p0"]["properties"]["p0"]["type"], "object");
    }

    #[test]
    fn non_object_schemas_do_not_panic() {
        assert_eq!(cleanup_schema(&json!(true)), json!({}));
        assert_eq!(cleanup_schema(&json!(null)), json!({}));
        assert_eq!(cleanup_schema(&json!({"$ref": "#/nowhere"})), json!({"type": "object"}));
        assert_eq!(cleanup_schema(&json!({"$ref": "#"})), json!({"type": "object"}));
        assert_eq!(cleanup_schema(&json!({"type": 5, "anyOf": "x"})), json!({}));
    }

    #[test]
    fn gemini_schema_becomes_json_schema() {
        let schema = json!({
            "type": "OBJECT",
            "properties": {
                "city": {"type": "STRING", "nullable": true, "description": "c"},
                "unit": {"type": "STRING", "format": "enum", "enum": ["C", "F"]},
                "days": {"type": "ARRAY", "items": {"type": "INTEGER"}, "max_items": "7"},
                "either": {"any_of": [{"type": "STRING"}, {"type": "NUMBER"}], "nullable": true}
            },
            "required": ["city"],
            "property_ordering": ["city", "unit", "days"]
        });
        assert_eq!(
            from_gemini_schema(&schema),
            json!({
                "type": "object",
                "properties": {
                    "city": {"type": ["string", "null"], "description": "c"},
                    "unit": {"type": "string", "enum": ["C", "F"]},
                    "days": {"type": "array", "items": {"type": "integer"}, "maxItems": 7},
                    "either": {"anyOf": [{"type": "string"}, {"type": "number"}, {"type": "null"}]}
                },
                "required": ["city"]
            })
        );
    }

    #[test]
    fn gemini_schema_round_trips_through_cleanup() {
        let gemini = json!({
            "type": "OBJECT",
            "properties": {"city": {"type": "STRING", "nullable": true}, "n": {"type": "INTEGER"}},
            "required": ["city"]
        });
        assert_eq!(
            cleanup_schema(&from_gemini_schema(&gemini)),
            json!({
                "type": "object",
                "properties": {"city": {"type": "string", "nullable": true}, "n": {"type": "integer"}},
                "required": ["city"]
            })
        );
    }
}
