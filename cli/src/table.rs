//! Column output the way docker's `tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)` lays it
//! out: every column but the last is as wide as its widest cell plus three spaces, and
//! at least ten characters.

const MIN_WIDTH: usize = 10;
const PADDING: usize = 3;

/// Formats `rows` (the header first) as aligned columns, one line each.
pub fn render(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0usize; columns];
    for row in rows {
        // The last cell of a row is not tab-terminated, so it does not widen its column.
        for (i, cell) in row.iter().enumerate().take(row.len().saturating_sub(1)) {
            widths[i] = widths[i].max((cell.chars().count() + PADDING).max(MIN_WIDTH));
        }
    }
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            line.push_str(cell);
            if i + 1 < row.len() {
                let pad = widths[i].saturating_sub(cell.chars().count());
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// docker's `formatter.Ellipsis`: at most `max` characters, the last one `…` when cut.
pub fn ellipsis(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max - 1).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_like_dockers_ps() {
        let rows = vec![
            ["CONTAINER ID", "IMAGE", "COMMAND", "NAMES"]
                .map(String::from)
                .to_vec(),
            ["2ea77bbd1690", "busybox", "\"sleep 100\"", "web"]
                .map(String::from)
                .to_vec(),
        ];
        assert_eq!(
            render(&rows),
            "CONTAINER ID   IMAGE     COMMAND       NAMES\n\
             2ea77bbd1690   busybox   \"sleep 100\"   web\n"
        );
    }
}
