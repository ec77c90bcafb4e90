//! How the tail shows a record, as plain strings: value views (UTF-8 text, pretty JSON, hex
//! dump), a one-line preview of bounded width, keys, headers and timestamps with their type,
//! and the `--json` line of `strom tail` (base64 for binary).
//!
//! Pure: no rdkafka, no ratatui, no I/O, no clock. The tail session converts rdkafka's
//! messages into [`Record`]; panes and the CLI format them with the functions here.
//!
//! Record bytes are whatever producers wrote, so nothing from them reaches a terminal
//! unescaped: C0 controls, DEL, C1 controls (U+0080..U+009F, which 8-bit terminals take as
//! CSI and friends), bidirectional overrides and isolates, zero-width and other invisible
//! format characters, and the Unicode tag block are shown as visible escapes (`\x1b`, `\n`,
//! `\u{202e}`); bytes that are not UTF-8 as `\xNN`. Backslashes themselves are left alone, so
//! JSON and paths stay readable: the escapes are for display, not a reversible encoding. The
//! `--json` line escapes the same characters as JSON `\uXXXX` escapes, which parse back to
//! exactly the original string.
//!
//! Work is bounded by what is shown: a preview reads only as much of a value as fits its
//! width, and the views take a byte limit and say when they cut.

use std::fmt::Write as _;
use std::sync::Arc;

use base64::Engine as _;
use chrono::{DateTime, TimeZone};
use unicode_width::UnicodeWidthChar;

/// A record's timestamp type, as the batch attributes say.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TimestampType {
    CreateTime,
    LogAppendTime,
    NotAvailable,
}

impl TimestampType {
    pub fn label(self) -> &'static str {
        match self {
            TimestampType::CreateTime => "CreateTime",
            TimestampType::LogAppendTime => "LogAppendTime",
            TimestampType::NotAvailable => "NoTimestamp",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    pub key: String,
    pub value: Option<Vec<u8>>,
}

/// One record as the tail keeps it: owned, independent of the client that fetched it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub topic: Arc<str>,
    pub partition: i32,
    pub offset: i64,
    /// Milliseconds since the Unix epoch; None when the record has none.
    pub timestamp: Option<i64>,
    pub timestamp_type: TimestampType,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<Header>,
}

impl Record {
    /// Heap bytes this record holds, plus a fixed overhead: what the tail's byte bound counts.
    pub fn approx_bytes(&self) -> usize {
        const OVERHEAD: usize = std::mem::size_of::<Record>();
        OVERHEAD
            + self.key.as_ref().map_or(0, Vec::len)
            + self.value.as_ref().map_or(0, Vec::len)
            + self
                .headers
                .iter()
                .map(|h| std::mem::size_of::<Header>() + h.key.len() + h.value.as_ref().map_or(0, Vec::len))
                .sum::<usize>()
    }
}

/// Characters beyond C0 and DEL that never reach a terminal raw: C1 controls, bidi
/// overrides, isolates and marks, zero-width and other invisible format characters, line and
/// paragraph separators, the BOM, interlinear annotations and the tag block.
fn is_hidden(c: char) -> bool {
    matches!(
        c as u32,
        0x80..=0x9f
            | 0x061c
            | 0x180e
            | 0x200b..=0x200f
            | 0x2028..=0x202e
            | 0x2060..=0x206f
            | 0xfeff
            | 0xfff9..=0xfffb
            | 0xe0000..=0xe007f
    )
}

fn needs_escape(c: char) -> bool {
    (c as u32) < 0x20 || c == '\u{7f}' || is_hidden(c)
}

/// Lines kept as lines (a multi-line view), or everything on one line (a preview, a cell).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Escape {
    Line,
    Block,
}

fn push_escaped_char(out: &mut String, c: char, mode: Escape) {
    match c {
        '\n' if mode == Escape::Block => out.push('\n'),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\0' => out.push_str("\\0"),
        c if (c as u32) < 0x20 => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c if c == '\u{7f}' || is_hidden(c) => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
        c => out.push(c),
    }
}

/// Text safe for a terminal: see the module doc for what is escaped.
pub fn escape_str(s: &str, mode: Escape) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        push_escaped_char(&mut out, c, mode);
    }
    out
}

/// Like [`escape_str`] for bytes that may not be UTF-8: invalid bytes become `\xNN`.
pub fn escape_bytes(bytes: &[u8], mode: Escape) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            push_escaped_char(&mut out, c, mode);
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

/// Binary rather than text: not UTF-8, or holding a NUL, or more than one character in eight
/// a control character (tab, newline and carriage return excepted). Judged on at most the
/// first `limit` bytes; a UTF-8 sequence cut by the limit does not count against it.
pub fn is_binary_prefix(bytes: &[u8], limit: usize) -> bool {
    let prefix = &bytes[..bytes.len().min(limit)];
    let cut = prefix.len() < bytes.len();
    let (mut chars, mut controls) = (0usize, 0usize);
    let mut chunks = prefix.utf8_chunks().peekable();
    while let Some(chunk) = chunks.next() {
        for c in chunk.valid().chars() {
            chars += 1;
            if c == '\0' {
                return true;
            }
            if needs_escape(c) && !matches!(c, '\t' | '\n' | '\r') {
                controls += 1;
            }
        }
        let last = chunks.peek().is_none();
        // An incomplete sequence at the end of a prefix is the limit's doing, not the value's.
        if !chunk.invalid().is_empty() && !(last && cut && chunk.invalid().len() < 4) {
            return true;
        }
    }
    controls * 8 > chars
}

/// [`is_binary_prefix`] over the whole value.
pub fn is_binary(bytes: &[u8]) -> bool {
    is_binary_prefix(bytes, bytes.len())
}

/// How a value is shown in the record detail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueView {
    Text,
    Json,
    Hex,
}

impl ValueView {
    pub fn label(self) -> &'static str {
        match self {
            ValueView::Text => "text",
            ValueView::Json => "json",
            ValueView::Hex => "hex",
        }
    }
}

/// Pretty JSON for a JSON object or array, hex for binary, else text.
pub fn default_view(bytes: &[u8]) -> ValueView {
    if is_json_document(bytes) {
        ValueView::Json
    } else if is_binary(bytes) {
        ValueView::Hex
    } else {
        ValueView::Text
    }
}

/// A whole value that parses as JSON and is an object or an array (a bare number or string is
/// better shown as text). Validation allocates no tree.
pub fn is_json_document(bytes: &[u8]) -> bool {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    matches!(first, Some(b'{' | b'[')) && serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok()
}

/// A view's lines, and whether the input was cut at the byte limit.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rendered {
    pub lines: Vec<String>,
    pub truncated: bool,
}

/// A value in the given view, escaped for the terminal, from at most `max_bytes` of input
/// (and, for JSON, at most `max_bytes` of pretty output). A value asked for as JSON that is
/// not JSON is shown as text.
pub fn render_value(bytes: &[u8], view: ValueView, max_bytes: usize) -> Rendered {
    match view {
        ValueView::Hex => {
            let (shown, truncated) = cut(bytes, max_bytes);
            Rendered {
                lines: hex_dump(shown),
                truncated,
            }
        }
        ValueView::Json if is_json_document(bytes) => {
            let (pretty, truncated) = pretty_json(bytes, max_bytes);
            Rendered {
                lines: escape_str(&pretty, Escape::Block)
                    .split('\n')
                    .map(str::to_string)
                    .collect(),
                truncated,
            }
        }
        ValueView::Json | ValueView::Text => {
            let (shown, truncated) = cut(bytes, max_bytes);
            Rendered {
                lines: escape_bytes(shown, Escape::Block)
                    .split('\n')
                    .map(str::to_string)
                    .collect(),
                truncated,
            }
        }
    }
}

fn cut(bytes: &[u8], max: usize) -> (&[u8], bool) {
    if bytes.len() > max {
        (&bytes[..max], true)
    } else {
        (bytes, false)
    }
}

/// Re-indents valid JSON by two spaces, keeping the input's key order, number spelling and
/// string escapes exactly (no parse tree, no re-encoding). Stops once the output reaches
/// `max_bytes`; the flag says it did.
pub fn pretty_json(bytes: &[u8], max_bytes: usize) -> (String, bool) {
    let text = String::from_utf8_lossy(bytes);
    let mut out = String::with_capacity(text.len().min(max_bytes) + 64);
    let mut depth = 0usize;
    let (mut in_string, mut escaped) = (false, false);
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        for _ in 0..depth {
            out.push_str("  ");
        }
    };
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if out.len() >= max_bytes {
            return (out, true);
        }
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                while chars.next_if(|c| c.is_ascii_whitespace()).is_some() {}
                let close = if c == '{' { '}' } else { ']' };
                if chars.next_if_eq(&close).is_some() {
                    out.push(c);
                    out.push(close);
                } else {
                    out.push(c);
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(',');
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            c if c.is_ascii_whitespace() => {}
            c => out.push(c),
        }
    }
    (out, false)
}

/// `hexdump -C` lines: offset, 16 bytes in two groups of eight, printable ASCII or `.`.
pub fn hex_dump(bytes: &[u8]) -> Vec<String> {
    bytes
        .chunks(16)
        .enumerate()
        .map(|(i, row)| {
            let mut line = String::with_capacity(78);
            let _ = write!(line, "{:08x}  ", i * 16);
            for j in 0..16 {
                match row.get(j) {
                    Some(b) => {
                        let _ = write!(line, "{b:02x} ");
                    }
                    None => line.push_str("   "),
                }
                if j == 7 {
                    line.push(' ');
                }
            }
            line.push_str(" |");
            line.extend(
                row.iter()
                    .map(|&b| if (0x20..0x7f).contains(&b) { b as char } else { '.' }),
            );
            line.push('|');
            line
        })
        .collect()
}

/// Builds a line of at most `width` columns; once something does not fit, the line ends at
/// the last point that leaves room for `…`.
struct Fit {
    out: String,
    used: usize,
    width: usize,
    /// `out.len()` at the last point where `used <= width - 1`.
    mark: usize,
    overflow: bool,
}

impl Fit {
    fn new(width: usize) -> Fit {
        Fit {
            out: String::with_capacity(width.min(512)),
            used: 0,
            width,
            mark: 0,
            overflow: false,
        }
    }

    /// False (and the line is over) when `piece`, `w` columns wide, does not fit.
    fn push(&mut self, piece: &str, w: usize) -> bool {
        if self.used + w > self.width {
            self.overflow = true;
            return false;
        }
        self.out.push_str(piece);
        self.used += w;
        if self.used < self.width {
            self.mark = self.out.len();
        }
        true
    }

    fn push_char(&mut self, c: char) -> bool {
        if needs_escape(c) {
            let mut esc = String::new();
            push_escaped_char(&mut esc, c, Escape::Line);
            self.push(&esc, esc.len())
        } else {
            let mut buf = [0u8; 4];
            self.push(c.encode_utf8(&mut buf), c.width().unwrap_or(0))
        }
    }

    fn push_byte_escape(&mut self, b: u8) -> bool {
        let esc = format!("\\x{b:02x}");
        self.push(&esc, esc.len())
    }

    fn finish(mut self) -> String {
        if self.overflow {
            self.out.truncate(self.mark);
            self.out.push('…');
        }
        self.out
    }
}

/// Drops whitespace outside JSON strings.
#[derive(Default)]
struct JsonCompactor {
    in_string: bool,
    escaped: bool,
}

impl JsonCompactor {
    /// True for a character to leave out.
    fn skip(&mut self, c: char) -> bool {
        if self.in_string {
            if self.escaped {
                self.escaped = false;
            } else if c == '\\' {
                self.escaped = true;
            } else if c == '"' {
                self.in_string = false;
            }
            false
        } else if c == '"' {
            self.in_string = true;
            false
        } else {
            c.is_ascii_whitespace()
        }
    }
}

/// Values up to this size are validated before a preview compacts them as JSON.
const JSON_PREVIEW_VALIDATE: usize = 64 << 10;

/// One line of at most `width` terminal columns showing the start of a value: compact JSON
/// (whitespace outside strings dropped) for what looks like a JSON document, space-separated
/// hex for binary, else escaped text; `…` when cut. Reads only as much of the value as fits.
pub fn preview(bytes: &[u8], width: usize) -> String {
    if width == 0 {
        return String::new();
    }
    // Judging binary on a prefix keeps the preview's cost bounded by its width.
    if is_binary_prefix(bytes, (width * 4).max(64)) {
        return hex_preview(bytes, width);
    }
    // Whitespace is only dropped from JSON: a small value is validated first (cheap, and the UI
    // previews only the rows it draws); a large one that starts like JSON is taken as JSON.
    let json_like = if bytes.len() <= JSON_PREVIEW_VALIDATE {
        is_json_document(bytes)
    } else {
        matches!(bytes.iter().find(|b| !b.is_ascii_whitespace()), Some(b'{' | b'['))
    };
    let mut json = json_like.then(JsonCompactor::default);
    text_fit(bytes, width, |c| json.as_mut().is_some_and(|j| j.skip(c)))
}

/// At most about `limit` bytes of `bytes`, not cutting a UTF-8 sequence, and whether it cut.
fn bounded_prefix(bytes: &[u8], limit: usize) -> (&[u8], bool) {
    if bytes.len() <= limit {
        return (bytes, false);
    }
    let mut end = limit;
    // Back off to the start of a character split by the limit (at most three bytes).
    while end > limit.saturating_sub(3) && end > 0 && bytes[end] & 0xc0 == 0x80 {
        end -= 1;
    }
    (&bytes[..end], true)
}

/// Escaped text of at most `width` columns. Looks at a bounded prefix only (UTF-8 validation
/// of the whole value would cost as much as the value): a value whose first 16 bytes per
/// column (at least 4 KiB) do not fill the line ends in `…` all the same.
fn text_fit(bytes: &[u8], width: usize, mut skip: impl FnMut(char) -> bool) -> String {
    let mut fit = Fit::new(width);
    let (bytes, cut) = bounded_prefix(bytes, (width * 16).max(4096));
    if cut {
        fit.overflow = true;
    }
    'outer: for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if !skip(c) && !fit.push_char(c) {
                break 'outer;
            }
        }
        for &b in chunk.invalid() {
            if !fit.push_byte_escape(b) {
                break 'outer;
            }
        }
    }
    fit.finish()
}

fn hex_preview(bytes: &[u8], width: usize) -> String {
    // "xx " per byte; the last byte needs no space.
    let fit_all = (bytes.len() * 3).saturating_sub(1) <= width;
    let n = if fit_all {
        bytes.len()
    } else {
        width.saturating_sub(1) / 3
    };
    let mut out = String::with_capacity(n * 3 + 3);
    for (i, b) in bytes[..n].iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let _ = write!(out, "{b:02x}");
    }
    if !fit_all {
        if n > 0 {
            out.push(' ');
        }
        out.push('…');
    }
    out
}

/// Headers on one line, `name=value, name=value`, escaped, at most `width` columns.
pub fn headers_preview(headers: &[Header], width: usize) -> String {
    let mut line = Vec::new();
    for (i, h) in headers.iter().enumerate() {
        if i > 0 {
            line.extend_from_slice(b", ");
        }
        line.extend_from_slice(h.key.as_bytes());
        line.push(b'=');
        match &h.value {
            Some(v) => line.extend_from_slice(&v[..v.len().min(width * 4)]),
            None => line.extend_from_slice(b"null"),
        }
        if line.len() > width * 4 {
            break;
        }
    }
    text_fit(&line, width, |_| false)
}

/// `2024-05-01 12:03:04.123` in the given zone (pass `chrono::Local` or `chrono::Utc`); the
/// raw number for a timestamp chrono cannot represent.
pub fn format_timestamp<Tz: TimeZone>(ms: i64, tz: &Tz) -> String
where
    Tz::Offset: std::fmt::Display,
{
    match DateTime::from_timestamp_millis(ms) {
        Some(t) => t.with_timezone(tz).format("%Y-%m-%d %H:%M:%S%.3f").to_string(),
        None => format!("{ms} ms"),
    }
}

/// The timestamp with its type: `2024-05-01 12:03:04.123 (CreateTime)`; `-` when none.
pub fn format_record_timestamp<Tz: TimeZone>(r: &Record, tz: &Tz) -> String
where
    Tz::Offset: std::fmt::Display,
{
    match r.timestamp {
        Some(ms) if r.timestamp_type != TimestampType::NotAvailable => {
            format!("{} ({})", format_timestamp(ms, tz), r.timestamp_type.label())
        }
        _ => "-".to_string(),
    }
}

/// A JSON string literal that parses back to exactly `s`, with the characters a terminal
/// must not see raw written as `\uXXXX`.
fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{u:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A key, value or header value in the `--json` line: a string when the bytes are UTF-8 (a
/// lossless choice a script can rely on), else base64. Returns whether base64 was used.
fn push_json_bytes(out: &mut String, bytes: Option<&[u8]>) -> bool {
    match bytes {
        None => {
            out.push_str("null");
            false
        }
        Some(b) => match std::str::from_utf8(b) {
            Ok(s) => {
                push_json_str(out, s);
                false
            }
            Err(_) => {
                out.push('"');
                base64::engine::general_purpose::STANDARD.encode_string(b, out);
                out.push('"');
                true
            }
        },
    }
}

/// The `strom tail --json` line for a record (no newline): `topic`, `partition`, `offset`,
/// `timestamp` (ms, null if none), `timestamp_type`, `key`, `value`, `headers`. A key or value
/// that is not UTF-8 is base64, flagged by `"key_encoding": "base64"` / `"encoding": "base64"`.
/// `headers` is an object of name to value (a string, null, or `{"base64": ...}`); a name
/// that occurs more than once maps to an array of its values in order.
pub fn json_line(r: &Record, out: &mut String) {
    out.push_str("{\"topic\":");
    push_json_str(out, &r.topic);
    let _ = write!(
        out,
        ",\"partition\":{},\"offset\":{},\"timestamp\":",
        r.partition, r.offset
    );
    match r.timestamp {
        Some(ms) if r.timestamp_type != TimestampType::NotAvailable => {
            let _ = write!(out, "{ms}");
        }
        _ => out.push_str("null"),
    }
    out.push_str(",\"timestamp_type\":");
    push_json_str(out, r.timestamp_type.label());
    out.push_str(",\"key\":");
    if push_json_bytes(out, r.key.as_deref()) {
        out.push_str(",\"key_encoding\":\"base64\"");
    }
    out.push_str(",\"value\":");
    if push_json_bytes(out, r.value.as_deref()) {
        out.push_str(",\"encoding\":\"base64\"");
    }
    out.push_str(",\"headers\":{");
    let mut names: Vec<&str> = Vec::new();
    for h in &r.headers {
        if !names.contains(&h.key.as_str()) {
            names.push(&h.key);
        }
    }
    for (i, name) in names.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_json_str(out, name);
        out.push(':');
        let values: Vec<Option<&[u8]>> = r
            .headers
            .iter()
            .filter(|h| h.key == *name)
            .map(|h| h.value.as_deref())
            .collect();
        let many = values.len() > 1;
        if many {
            out.push('[');
        }
        for (j, v) in values.into_iter().enumerate() {
            if j > 0 {
                out.push(',');
            }
            push_header_value(out, v);
        }
        if many {
            out.push(']');
        }
    }
    out.push_str("}}");
}

fn push_header_value(out: &mut String, v: Option<&[u8]>) {
    match v.map(std::str::from_utf8) {
        None => out.push_str("null"),
        Some(Ok(s)) => push_json_str(out, s),
        Some(Err(_)) => {
            out.push_str("{\"base64\":\"");
            if let Some(b) = v {
                base64::engine::general_purpose::STANDARD.encode_string(b, out);
            }
            out.push_str("\"}");
        }
    }
}

/// The record detail: labelled sections of escaped lines, the value in `view` from at most
/// `max_value_bytes`.
pub fn detail<Tz: TimeZone>(r: &Record, view: ValueView, tz: &Tz, max_value_bytes: usize) -> Vec<(String, Rendered)>
where
    Tz::Offset: std::fmt::Display,
{
    let one = |s: String| Rendered {
        lines: vec![s],
        truncated: false,
    };
    let mut out = vec![
        ("Topic".to_string(), one(escape_str(&r.topic, Escape::Line))),
        ("Partition".to_string(), one(r.partition.to_string())),
        ("Offset".to_string(), one(r.offset.to_string())),
        ("Timestamp".to_string(), one(format_record_timestamp(r, tz))),
    ];
    let key = match &r.key {
        None => one("null".into()),
        Some(k) if is_binary(k) => render_value(k, ValueView::Hex, max_value_bytes),
        Some(k) => render_value(k, ValueView::Text, max_value_bytes),
    };
    out.push(("Key".to_string(), key));
    let headers = Rendered {
        lines: r
            .headers
            .iter()
            .map(|h| {
                let value = match &h.value {
                    None => "null".to_string(),
                    Some(v) => escape_bytes(&v[..v.len().min(max_value_bytes)], Escape::Line),
                };
                format!("{} = {}", escape_str(&h.key, Escape::Line), value)
            })
            .collect(),
        truncated: false,
    };
    out.push((format!("Headers ({})", r.headers.len()), headers));
    let (label, value) = match &r.value {
        None => ("Value (null)".to_string(), Rendered::default()),
        Some(v) => (
            format!("Value ({} bytes, {})", v.len(), view.label()),
            render_value(v, view, max_value_bytes),
        ),
    };
    out.push((label, value));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use unicode_width::UnicodeWidthStr;

    fn record(key: Option<&[u8]>, value: Option<&[u8]>, headers: &[(&str, Option<&[u8]>)]) -> Record {
        Record {
            topic: Arc::from("orders"),
            partition: 3,
            offset: 42,
            timestamp: Some(1_714_564_984_123),
            timestamp_type: TimestampType::CreateTime,
            key: key.map(<[u8]>::to_vec),
            value: value.map(<[u8]>::to_vec),
            headers: headers
                .iter()
                .map(|(k, v)| Header {
                    key: k.to_string(),
                    value: v.map(<[u8]>::to_vec),
                })
                .collect(),
        }
    }

    /// No byte a terminal would act on: C0 (but newline in block views), DEL, C1, bidi.
    fn assert_terminal_safe(s: &str) {
        for c in s.chars() {
            assert!(!needs_escape(c) || c == '\n', "{c:?} reached the output in {s:?}");
        }
    }

    #[test]
    fn terminal_escape_sequences_are_shown_not_executed() {
        // Colour, clear screen, OSC 52 clipboard write, OSC 8 hyperlink, cursor movement.
        let hostile =
            "\x1b[31mred\x1b[0m \x1b[2J\x1b]52;c;ZXZpbA==\x07 \x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\ \x1b[10A";
        let shown = escape_str(hostile, Escape::Line);
        assert_eq!(
            shown,
            "\\x1b[31mred\\x1b[0m \\x1b[2J\\x1b]52;c;ZXZpbA==\\x07 \\x1b]8;;http://x\\x1b\\link\\x1b]8;;\\x1b\\ \\x1b[10A"
        );
        assert_terminal_safe(&shown);
    }

    #[test]
    fn c1_controls_del_bidi_and_invisibles_are_escaped() {
        let s = "a\u{9b}31m\u{85}b\u{7f}c\u{202e}evil\u{2066}d\u{200b}e\u{feff}f\u{2028}g\u{e0041}h";
        let shown = escape_str(s, Escape::Line);
        assert_eq!(
            shown,
            "a\\u{9b}31m\\u{85}b\\u{7f}c\\u{202e}evil\\u{2066}d\\u{200b}e\\u{feff}f\\u{2028}g\\u{e0041}h"
        );
        assert_terminal_safe(&shown);
        // Ordinary text, accents, CJK and emoji pass through.
        assert_eq!(escape_str("café 東京 🚀", Escape::Line), "café 東京 🚀");
    }

    #[test]
    fn newlines_break_lines_only_in_block_views() {
        assert_eq!(escape_str("a\nb\r\nc\td\0", Escape::Line), "a\\nb\\r\\nc\\td\\0");
        assert_eq!(escape_str("a\nb\r\nc", Escape::Block), "a\nb\\r\nc");
    }

    #[test]
    fn invalid_utf8_bytes_are_shown_as_hex_escapes() {
        assert_eq!(
            escape_bytes(b"ok\xff\xfe then \xc3(", Escape::Line),
            "ok\\xff\\xfe then \\xc3("
        );
        assert_eq!(escape_bytes("é".as_bytes(), Escape::Line), "é");
        // A raw C1 byte pair is escaped as a character, a lone 0x9b byte as a byte.
        assert_eq!(escape_bytes(b"\xc2\x9b \x9b", Escape::Line), "\\u{9b} \\x9b");
    }

    #[test]
    fn binary_detection() {
        assert!(!is_binary(b"plain text\twith tab\nand newline\r\n"));
        assert!(!is_binary("unicode: 東京".as_bytes()));
        assert!(!is_binary(b"one \x1b[31mcolour\x1b[0m in a line of text"));
        assert!(is_binary(b"\xff\xfe"));
        assert!(is_binary(b"nul\0inside"));
        // Avro-like: short, mostly control bytes, valid UTF-8.
        assert!(is_binary(b"\x02\x06foo\x04\x01"));
        assert!(!is_binary(b""));
        // A prefix cut inside a multi-byte character is not binary for that.
        let text = "€".repeat(100);
        assert!(!is_binary_prefix(text.as_bytes(), 10));
        assert!(is_binary_prefix(b"abc\xffdef", 5));
    }

    #[test]
    fn default_views() {
        assert_eq!(default_view(br#" {"a": [1, 2]} "#), ValueView::Json);
        assert_eq!(default_view(b"[]"), ValueView::Json);
        assert_eq!(default_view(b"123"), ValueView::Text);
        assert_eq!(default_view(b"{not json"), ValueView::Text);
        assert_eq!(default_view(br#"{"a":1} trailing"#), ValueView::Text);
        assert_eq!(default_view(b"\x00\x01\x02"), ValueView::Hex);
        // Nesting deeper than serde_json's limit is not JSON and does not overflow the stack.
        let deep = "[".repeat(100_000);
        assert_eq!(default_view(deep.as_bytes()), ValueView::Text);
    }

    #[test]
    fn pretty_json_keeps_order_numbers_and_escapes() {
        let v =
            br#"{"z":1,"a":{"n":12345678901234567890123,"f":1.50,"s":"x\"y\\n\u001b","e":{},"l":[]},"arr":[1,[2,3]]}"#;
        let r = render_value(v, ValueView::Json, 1 << 20);
        assert!(!r.truncated);
        assert_eq!(
            r.lines,
            [
                "{",
                "  \"z\": 1,",
                "  \"a\": {",
                "    \"n\": 12345678901234567890123,",
                "    \"f\": 1.50,",
                "    \"s\": \"x\\\"y\\\\n\\u001b\",",
                "    \"e\": {},",
                "    \"l\": []",
                "  },",
                "  \"arr\": [",
                "    1,",
                "    [",
                "      2,",
                "      3",
                "    ]",
                "  ]",
                "}"
            ]
        );
        // The pretty text parses to the same value as the original.
        let pretty = pretty_json(v, 1 << 20).0;
        let a: serde_json::Value = serde_json::from_str(&pretty).unwrap();
        let b: serde_json::Value = serde_json::from_slice(v).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn pretty_json_escapes_raw_hostile_characters_inside_strings() {
        // JSON allows raw C1 and bidi characters in strings; the view must not pass them on.
        let v = "{\"k\":\"\u{9b}31m\u{202e}txt\"}".as_bytes();
        let r = render_value(v, ValueView::Json, 1 << 20);
        assert_eq!(r.lines[1], "  \"k\": \"\\u{9b}31m\\u{202e}txt\"");
        r.lines.iter().for_each(|l| assert_terminal_safe(l));
    }

    #[test]
    fn pretty_json_of_a_huge_value_stops_at_the_limit() {
        let mut v = String::from("[");
        for i in 0..200_000 {
            if i > 0 {
                v.push(',');
            }
            v.push_str(&i.to_string());
        }
        v.push(']');
        let (pretty, truncated) = pretty_json(v.as_bytes(), 4096);
        assert!(truncated);
        assert!(pretty.len() < 4096 + 64, "{}", pretty.len());
        let r = render_value(v.as_bytes(), ValueView::Json, 4096);
        assert!(r.truncated);
        assert!(r.lines.len() < 1000);
    }

    #[test]
    fn text_view_escapes_and_cuts() {
        let r = render_value(b"line one\nline \x1b[2Jtwo\n\xff", ValueView::Text, 1 << 20);
        assert_eq!(r.lines, ["line one", "line \\x1b[2Jtwo", "\\xff"]);
        let r = render_value(b"abcdef", ValueView::Text, 3);
        assert_eq!((r.lines, r.truncated), (vec!["abc".to_string()], true));
        // JSON asked of a non-JSON value falls back to text.
        assert_eq!(render_value(b"{x", ValueView::Json, 100).lines, ["{x"]);
    }

    #[test]
    fn hex_dump_matches_hexdump_c() {
        assert_eq!(
            hex_dump(b"Hello world\n"),
            ["00000000  48 65 6c 6c 6f 20 77 6f  72 6c 64 0a              |Hello world.|"]
        );
        assert_eq!(
            hex_dump(b"0123456789abcdef0"),
            [
                "00000000  30 31 32 33 34 35 36 37  38 39 61 62 63 64 65 66  |0123456789abcdef|",
                "00000010  30                                                |0|"
            ]
        );
        assert_eq!(
            hex_dump(b"\x00\x01\x1b[31mred\x7f\xc2\x9b\xff"),
            ["00000000  00 01 1b 5b 33 31 6d 72  65 64 7f c2 9b ff        |...[31mred....|"]
        );
        assert!(hex_dump(b"").is_empty());
        let r = render_value(&[0u8; 100], ValueView::Hex, 32);
        assert_eq!((r.lines.len(), r.truncated), (2, true));
    }

    #[test]
    fn preview_fits_its_width_exactly() {
        assert_eq!(preview(b"hello", 10), "hello");
        assert_eq!(preview(b"hello", 5), "hello");
        assert_eq!(preview(b"hello world", 5), "hell…");
        assert_eq!(preview(b"hello", 1), "…");
        assert_eq!(preview(b"hello", 0), "");
        // Wide characters count two columns and are never split.
        assert_eq!(preview("東京東京".as_bytes(), 8), "東京東京");
        assert_eq!(preview("東京東京".as_bytes(), 7), "東京東…");
        assert_eq!(preview("東京東京".as_bytes(), 6), "東京…");
        for w in 0..30 {
            for v in [
                "a\nb\x1b[1mc 東京 🚀 \u{202e}x",
                "{\"a\": [1, 2], \"b\": \"x y\"}",
                "plain",
            ] {
                let p = preview(v.as_bytes(), w);
                assert!(p.width() <= w, "{v:?} at {w}: {p:?} is {} wide", p.width());
                assert_terminal_safe(&p);
            }
        }
    }

    #[test]
    fn preview_escapes_newlines_and_compacts_json() {
        assert_eq!(preview(b"a\nb\tc\x1b[31m", 40), "a\\nb\\tc\\x1b[31m");
        assert_eq!(
            preview(b"{\n  \"a\": 1,\n  \"b\": \"x  y\"\n}", 40),
            "{\"a\":1,\"b\":\"x  y\"}"
        );
        assert_eq!(
            preview(b"{\"s\": \"q\\\" }\", \"t\": 2}", 40),
            "{\"s\":\"q\\\" }\",\"t\":2}"
        );
        // Text that merely starts like JSON keeps its spaces (its newline is escaped).
        assert_eq!(preview(b"{ not json }\nnext", 40), "{ not json }\\nnext");
        assert_eq!(preview(b"[INFO] started  ok", 40), "[INFO] started  ok");
    }

    #[test]
    fn preview_of_binary_is_hex() {
        assert_eq!(preview(b"\x00\x01\xff", 20), "00 01 ff");
        assert_eq!(preview(b"\x00\x01\xff", 8), "00 01 ff");
        assert_eq!(preview(b"\x00\x01\xff\x10", 8), "00 01 …");
        assert_eq!(preview(b"\x00\x01", 1), "…");
    }

    #[test]
    fn preview_of_a_huge_value_reads_only_its_start() {
        // A bounded prefix is all a preview reads: past it, even a value that would still fit
        // ends in an ellipsis. Without the bound this shows `{"a":1}` after scanning 1 MiB.
        let mut v = b"{".to_vec();
        v.extend(std::iter::repeat_n(b' ', 1 << 20));
        v.extend_from_slice(b"\"a\":1}");
        assert_eq!(preview(&v, 20), "{…");
        let big = vec![b'x'; 64 << 20];
        assert_eq!(preview(&big, 10), "xxxxxxxxx…");
        // The cut never splits a character into \xNN escapes.
        let euros = "€".repeat(10_000);
        assert_eq!(preview(euros.as_bytes(), 3), "€€…");
        assert_eq!(bounded_prefix(euros.as_bytes(), 4097).0.len(), 4095);
    }

    #[test]
    fn headers_preview_is_one_escaped_line() {
        let r = record(
            None,
            None,
            &[("trace", Some(b"abc")), ("evil", Some(b"\x1b[2J")), ("n", None)],
        );
        assert_eq!(headers_preview(&r.headers, 60), "trace=abc, evil=\\x1b[2J, n=null");
        assert_eq!(headers_preview(&r.headers, 10), "trace=abc…");
        assert_eq!(headers_preview(&[], 10), "");
    }

    #[test]
    fn timestamps_with_their_type() {
        let r = record(None, None, &[]);
        assert_eq!(
            format_record_timestamp(&r, &chrono::Utc),
            "2024-05-01 12:03:04.123 (CreateTime)"
        );
        let plus2 = chrono::FixedOffset::east_opt(2 * 3600).unwrap();
        assert_eq!(format_timestamp(1_714_564_984_123, &plus2), "2024-05-01 14:03:04.123");
        let mut r2 = r.clone();
        r2.timestamp_type = TimestampType::LogAppendTime;
        assert!(format_record_timestamp(&r2, &chrono::Utc).ends_with("(LogAppendTime)"));
        r2.timestamp_type = TimestampType::NotAvailable;
        assert_eq!(format_record_timestamp(&r2, &chrono::Utc), "-");
        assert_eq!(format_timestamp(i64::MAX, &chrono::Utc), format!("{} ms", i64::MAX));
        assert_eq!(format_timestamp(-1, &chrono::Utc), "1969-12-31 23:59:59.999");
    }

    #[test]
    fn json_line_text_values() {
        let r = record(Some(b"k1"), Some(br#"{"a":1}"#), &[("h", Some(b"v")), ("n", None)]);
        let mut out = String::new();
        json_line(&r, &mut out);
        assert_eq!(
            out,
            r#"{"topic":"orders","partition":3,"offset":42,"timestamp":1714564984123,"timestamp_type":"CreateTime","key":"k1","value":"{\"a\":1}","headers":{"h":"v","n":null}}"#
        );
        let parsed: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(parsed["value"], r#"{"a":1}"#);
    }

    #[test]
    fn json_line_binary_values_are_base64_and_flagged() {
        let r = record(
            Some(b"\xff\x00"),
            Some(b"\x00\x01\xfe"),
            &[("bin", Some(b"\xc3")), ("d", Some(b"1")), ("d", Some(b"2"))],
        );
        let mut out = String::new();
        json_line(&r, &mut out);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["key"], "/wA=");
        assert_eq!(v["key_encoding"], "base64");
        assert_eq!(v["value"], "AAH+");
        assert_eq!(v["encoding"], "base64");
        assert_eq!(v["headers"]["bin"]["base64"], "ww==");
        assert_eq!(v["headers"]["d"], serde_json::json!(["1", "2"]));
        let null = record(None, None, &[]);
        let mut out = String::new();
        json_line(&null, &mut out);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert!(v["key"].is_null() && v["value"].is_null() && v.get("encoding").is_none());
    }

    #[test]
    fn json_line_strings_round_trip_exactly_and_stay_terminal_safe() {
        let nasty = "q\"b\\s/\n\r\t\x01\x1b[2J\u{7f}\u{9b}\u{202e}\u{e0041}é🚀";
        let mut r = record(
            Some(nasty.as_bytes()),
            Some(nasty.as_bytes()),
            &[(nasty, Some(nasty.as_bytes()))],
        );
        r.topic = Arc::from("t\u{202e}");
        let mut out = String::new();
        json_line(&r, &mut out);
        assert_terminal_safe(&out);
        assert!(!out.contains('\n'));
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["key"], nasty);
        assert_eq!(v["value"], nasty);
        assert_eq!(v["headers"][nasty], nasty);
        assert_eq!(v["topic"], "t\u{202e}");
    }

    #[test]
    fn detail_sections() {
        let r = record(Some(b"\x00\x01"), Some(b"{\"a\":1}"), &[("h\x1b", Some(b"v\n"))]);
        let d = detail(&r, ValueView::Json, &chrono::Utc, 1 << 20);
        let labels: Vec<&str> = d.iter().map(|(l, _)| l.as_str()).collect();
        assert_eq!(
            labels,
            [
                "Topic",
                "Partition",
                "Offset",
                "Timestamp",
                "Key",
                "Headers (1)",
                "Value (7 bytes, json)"
            ]
        );
        assert_eq!(
            d[4].1.lines,
            ["00000000  00 01                                             |..|"]
        );
        assert_eq!(d[5].1.lines, ["h\\x1b = v\\n"]);
        assert_eq!(d[6].1.lines, ["{", "  \"a\": 1", "}"]);
        let tomb = record(None, None, &[]);
        let d = detail(&tomb, ValueView::Text, &chrono::Utc, 100);
        assert_eq!(d[4].1.lines, ["null"]);
        assert_eq!(d[6].0, "Value (null)");
    }

    #[test]
    fn approx_bytes_counts_the_payload() {
        let small = record(None, None, &[]);
        let big = record(Some(&[0; 100]), Some(&[0; 1000]), &[("h", Some(&[0; 10]))]);
        assert!(big.approx_bytes() >= small.approx_bytes() + 1110);
    }
}
