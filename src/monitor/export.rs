//! The request log as CSV (`switchyard logs --csv`, `usage --csv`):
//! RFC 4180 (a header line, fields quoted when they hold a comma, a quote
//! or a line break, quotes doubled, CRLF line ends), one call per line.
//! An unpriced call's `cost_usd` is empty; bodies are never exported.

use std::time::{Duration, UNIX_EPOCH};

use super::record::RequestRecord;
use super::store::UsageRow;

/// The columns of `logs --csv`, in order.
pub const LOG_COLUMNS: [&str; 23] = [
    "time",
    "id",
    "status",
    "client",
    "route",
    "model",
    "served_model",
    "account",
    "account_id",
    "key",
    "stream",
    "total_ms",
    "upstream_ms",
    "ttfb_ms",
    "input_tokens",
    "output_tokens",
    "cached_tokens",
    "cache_write_tokens",
    "cost_usd",
    "attempts",
    "fell_back",
    "estimated_tokens",
    "error",
];

/// The columns of `usage --csv`, after the grouping's own.
pub const USAGE_COLUMNS: [&str; 8] = [
    "requests",
    "errors",
    "input_tokens",
    "output_tokens",
    "cached_tokens",
    "cache_write_tokens",
    "cost_usd",
    "unpriced",
];

/// One field, quoted when it must be.
fn field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// A line of fields, CRLF-terminated.
fn line<I: IntoIterator<Item = String>>(fields: I) -> String {
    let mut text = fields.into_iter().map(|f| field(&f)).collect::<Vec<_>>().join(",");
    text.push_str("\r\n");
    text
}

fn optional<T: ToString>(value: Option<T>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

/// The header of `logs --csv`.
pub fn log_header() -> String {
    line(LOG_COLUMNS.iter().map(|c| c.to_string()))
}

/// The time as RFC 3339 with milliseconds (UTC).
pub fn time_text(time_ms: i64) -> String {
    humantime::format_rfc3339_millis(UNIX_EPOCH + Duration::from_millis(time_ms.max(0) as u64)).to_string()
}

/// One call as a CSV line.
pub fn log_line(record: &RequestRecord) -> String {
    line([
        time_text(record.time_ms),
        record.id.clone(),
        record.status.to_string(),
        record.client.clone(),
        record.route.clone(),
        record.model.clone(),
        optional(record.served_model.as_ref()),
        optional(record.account.as_ref()),
        optional(record.account_id.as_ref()),
        optional(record.key.as_ref()),
        record.stream.to_string(),
        record.total_ms.to_string(),
        optional(record.upstream_ms),
        optional(record.ttfb_ms),
        record.input_tokens.to_string(),
        record.output_tokens.to_string(),
        record.cached_tokens.to_string(),
        record.cache_write_tokens.to_string(),
        optional(record.cost_usd),
        record.attempts.to_string(),
        record.fell_back.to_string(),
        record.estimated_tokens.to_string(),
        optional(record.error.as_ref()),
    ])
}

/// The header of `usage --csv`, its first column named `group`.
pub fn usage_header(group: &str) -> String {
    line(std::iter::once(group.to_string()).chain(USAGE_COLUMNS.iter().map(|c| c.to_string())))
}

/// One usage row as a CSV line.
pub fn usage_line(row: &UsageRow) -> String {
    line([
        row.key.clone(),
        row.requests.to_string(),
        row.errors.to_string(),
        row.input_tokens.to_string(),
        row.output_tokens.to_string(),
        row.cached_tokens.to_string(),
        row.cache_write_tokens.to_string(),
        row.cost_usd.to_string(),
        row.unpriced.to_string(),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An RFC 4180 reader, to read back what was written.
    fn read(text: &str) -> Vec<Vec<String>> {
        let mut rows = Vec::new();
        let mut row = Vec::new();
        let mut field = String::new();
        let mut quoted = false;
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match (quoted, c) {
                (true, '"') if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                (true, '"') => quoted = false,
                (true, c) => field.push(c),
                (false, '"') => quoted = true,
                (false, ',') => row.push(std::mem::take(&mut field)),
                (false, '\r') => {}
                (false, '\n') => {
                    row.push(std::mem::take(&mut field));
                    rows.push(std::mem::take(&mut row));
                }
                (false, c) => field.push(c),
            }
        }
        rows
    }

    fn parse<T: std::str::FromStr>(text: &str) -> Option<T> {
        (!text.is_empty()).then(|| text.parse().ok()).flatten()
    }

    /// A record rebuilt from a CSV row (bodies are not exported).
    fn record_of(row: &[String]) -> RequestRecord {
        let time = humantime::parse_rfc3339(&row[0]).unwrap();
        RequestRecord {
            time_ms: time.duration_since(UNIX_EPOCH).unwrap().as_millis() as i64,
            id: row[1].clone(),
            status: row[2].parse().unwrap(),
            client: row[3].clone(),
            route: row[4].clone(),
            model: row[5].clone(),
            served_model: parse(&row[6]),
            account: parse(&row[7]),
            account_id: parse(&row[8]),
            key: parse(&row[9]),
            stream: row[10].parse().unwrap(),
            total_ms: row[11].parse().unwrap(),
            upstream_ms: parse(&row[12]),
            overhead_ms: None,
            ttfb_ms: parse(&row[13]),
            input_tokens: row[14].parse().unwrap(),
            output_tokens: row[15].parse().unwrap(),
            cached_tokens: row[16].parse().unwrap(),
            cache_write_tokens: row[17].parse().unwrap(),
            cost_usd: parse(&row[18]),
            attempts: row[19].parse().unwrap(),
            fell_back: row[20].parse().unwrap(),
            estimated_tokens: row[21].parse().unwrap(),
            error: parse(&row[22]),
            request_body: None,
            response_body: None,
        }
    }

    #[test]
    fn records_round_trip_through_csv() {
        let priced = RequestRecord {
            id: "chatcmpl-1".into(),
            time_ms: 1_795_219_200_123,
            client: "openai".into(),
            route: "/v1/chat/completions".into(),
            model: "fast".into(),
            served_model: Some("gpt-4o".into()),
            account: Some("work, \"main\"".into()),
            account_id: Some("acc-1".into()),
            key: Some("ci".into()),
            stream: true,
            status: 200,
            total_ms: 812.25,
            upstream_ms: Some(800.5),
            ttfb_ms: Some(120.0),
            input_tokens: 1200,
            output_tokens: 300,
            cached_tokens: 200,
            cache_write_tokens: 100,
            cost_usd: Some(0.005_875),
            attempts: 2,
            fell_back: true,
            ..RequestRecord::default()
        };
        let unpriced = RequestRecord {
            id: "x".into(),
            model: "local".into(),
            status: 502,
            error: Some("upstream said:\nno, \"really\"".into()),
            ..RequestRecord::default()
        };
        let text = format!("{}{}{}", log_header(), log_line(&priced), log_line(&unpriced));
        let rows = read(&text);
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0], LOG_COLUMNS);
        assert_eq!(record_of(&rows[1]), priced);
        assert_eq!(record_of(&rows[2]), unpriced);
        assert_eq!(rows[2][18], "", "an unpriced call's cost is empty");
    }

    #[test]
    fn usage_rows_are_written_with_their_costs() {
        let row = UsageRow {
            key: "gpt-4o".into(),
            requests: 3,
            errors: 1,
            input_tokens: 10,
            output_tokens: 5,
            cached_tokens: 2,
            cache_write_tokens: 0,
            cost_usd: 0.25,
            unpriced: 0,
        };
        let rows = read(&format!("{}{}", usage_header("model"), usage_line(&row)));
        assert_eq!(rows[0][0], "model");
        assert_eq!(rows[0][1..], USAGE_COLUMNS);
        assert_eq!(rows[1], ["gpt-4o", "3", "1", "10", "5", "2", "0", "0.25", "0"]);
    }
}
