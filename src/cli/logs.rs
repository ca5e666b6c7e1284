//! `switchyard logs` and `switchyard usage`: the request log the gateway
//! keeps in `requests.sqlite3`, read without disturbing it.

use std::time::{Duration, UNIX_EPOCH};

use super::{Failure, LogsArgs, UsageArgs, UsageGrouping};
use crate::home::Home;
use crate::monitor::{DATABASE, LogFilter, LogReader, RequestRecord, UsageBy, day_of, export, now_ms};
use crate::pricing::format_usd;

/// The request log this home's config names: its SQLite file, or the
/// team's Postgres log.
fn open(home: &Home) -> Result<LogReader, Failure> {
    let (config, store) = super::open(home)?;
    LogReader::open(&config, store.as_ref(), &home.state_dir.join(DATABASE)).map_err(Failure::runtime)
}

/// `--since`: a duration back from now, or an RFC 3339 time.
fn since_ms(text: Option<&str>) -> Result<Option<i64>, Failure> {
    let Some(text) = text else { return Ok(None) };
    if let Ok(ago) = humantime::parse_duration(text) {
        return Ok(Some(now_ms() - ago.as_millis() as i64));
    }
    humantime::parse_rfc3339_weak(text)
        .map(|time| {
            Some(
                time.duration_since(UNIX_EPOCH)
                    .map(|d| d.as_millis() as i64)
                    .unwrap_or(0),
            )
        })
        .map_err(|_| {
            Failure::usage(format!(
                "--since {text}: use a duration (90s, 15m, 24h, 7d) or a time like 2026-11-28T09:00:00"
            ))
        })
}

/// One log line.
fn line(record: &RequestRecord) -> String {
    let time = humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_millis(record.time_ms.max(0) as u64));
    let model = match &record.served_model {
        Some(served) if *served != record.model => format!("{} → {served}", record.model),
        _ => record.model.clone(),
    };
    let mut text = format!(
        "{time}  {}  {:<9} {:<28} {:<14} {:>8.1} ms  overhead {:>6.2} ms  in {} out {} cached {}  {}",
        record.status,
        format!("{}{}", record.client, if record.stream { "~" } else { "" }),
        model,
        record.account.as_deref().unwrap_or("-"),
        record.total_ms,
        record.overhead_ms.unwrap_or(0.0),
        record.input_tokens,
        record.output_tokens,
        record.cached_tokens,
        format_usd(record.cost_usd),
    );
    if record.estimated_tokens {
        text.push_str("  (tokens estimated)");
    }
    if let Some(key) = &record.key {
        text.push_str(&format!("  key {key}"));
    }
    if record.attempts > 1 {
        text.push_str(&format!("  ({} attempts)", record.attempts));
    }
    if let Some(error) = &record.error {
        text.push_str(&format!("  error: {error}"));
    }
    text
}

/// Prints the newest calls, oldest first, and with `--follow` keeps going.
pub fn logs(home: &Home, args: LogsArgs) -> Result<(), Failure> {
    let store = open(home)?;
    let mut filter = LogFilter {
        since_ms: since_ms(args.since.as_deref())?,
        model: args.model,
        account: args.account,
        key: args.key,
        after_row: None,
        limit: args.limit.max(1),
    };
    if args.csv {
        print!("{}", export::log_header());
    }
    let print = |rows: &[(i64, RequestRecord)]| {
        for (_, record) in rows.iter().rev() {
            if args.csv {
                print!("{}", export::log_line(record));
            } else if args.json {
                println!("{}", serde_json::to_string(record).unwrap_or_default());
            } else {
                println!("{}", line(record));
            }
        }
    };
    let rows = store
        .query(&filter)
        .map_err(|err| Failure::runtime(format!("cannot read the request log: {err}")))?;
    print(&rows);
    if !args.follow {
        return Ok(());
    }
    let mut last = rows.first().map(|(row, _)| *row).unwrap_or(0);
    filter.limit = 1000;
    loop {
        std::thread::sleep(Duration::from_millis(500));
        filter.after_row = Some(last);
        let rows = store
            .query(&filter)
            .map_err(|err| Failure::runtime(format!("cannot read the request log: {err}")))?;
        if let Some((row, _)) = rows.first() {
            last = *row;
        }
        print(&rows);
    }
}

/// Prints usage totals.
pub fn usage(home: &Home, args: UsageArgs) -> Result<(), Failure> {
    let store = open(home)?;
    let by = match args.by {
        UsageGrouping::Model => UsageBy::Model,
        UsageGrouping::Account => UsageBy::Account,
        UsageGrouping::Day => UsageBy::Day,
        UsageGrouping::Key => UsageBy::Key,
    };
    // A window shorter than a day is read from the request log, to the
    // millisecond; longer ones from the daily totals, in whole UTC days
    // (retention trims the log, never the totals).
    let since = since_ms(args.since.as_deref())?;
    let day_ago = crate::monitor::now_ms() - 24 * 3600 * 1000;
    let rows = match since {
        Some(since) if since > day_ago => store.usage(by, Some(since)),
        since => store.totals(by, since.map(day_of).as_deref()),
    }
    .map_err(|err| Failure::runtime(format!("cannot read the request log: {err}")))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows).unwrap_or_default());
        return Ok(());
    }
    let title = match args.by {
        UsageGrouping::Model => "MODEL",
        UsageGrouping::Account => "ACCOUNT",
        UsageGrouping::Day => "DAY",
        UsageGrouping::Key => "KEY",
    };
    if args.csv {
        print!("{}", export::usage_header(&title.to_ascii_lowercase()));
        for row in &rows {
            print!("{}", export::usage_line(row));
        }
        return Ok(());
    }
    println!(
        "{title:<32} {:>9} {:>7} {:>13} {:>13} {:>13} {:>12}",
        "REQUESTS", "ERRORS", "INPUT", "OUTPUT", "CACHED", "COST"
    );
    for row in &rows {
        // A group whose calls were all unpriced has no cost to show.
        let priced = row.unpriced < row.requests || row.cost_usd > 0.0;
        let mut cost = format_usd(priced.then_some(row.cost_usd));
        if priced && row.unpriced > 0 {
            cost.push_str(&format!(" (+{} unpriced)", row.unpriced));
        }
        println!(
            "{:<32} {:>9} {:>7} {:>13} {:>13} {:>13} {:>12}",
            row.key, row.requests, row.errors, row.input_tokens, row.output_tokens, row.cached_tokens, cost
        );
    }
    if rows.is_empty() {
        println!("(no calls recorded in that period)");
    }
    Ok(())
}
