//! Tables laid out as Go's `text/tabwriter` lays out ctr's (left-aligned, space-padded):
//! cells end with a tab; a column's width is set by the consecutive lines that have a
//! cell in it; text after a line's last tab is not aligned.

/// tabwriter's tab width, as ctr uses it.
const TAB_WIDTH: usize = 8;

/// Collects lines with tab-terminated cells, then renders them.
pub(crate) struct Table {
    min_width: usize,
    padding: usize,
    /// Pad with tabs (`padchar '\t'`) rather than spaces.
    tabs: bool,
    lines: Vec<Vec<String>>,
}

impl Table {
    /// `tabwriter.NewWriter(out, min_width, 8, padding, ' ', 0)`.
    pub fn new(min_width: usize, padding: usize) -> Table {
        Table {
            min_width,
            padding,
            tabs: false,
            lines: Vec::new(),
        }
    }

    /// `tabwriter.NewWriter(out, min_width, 8, padding, '\t', 0)` (`content ls`): cells
    /// padded with tabs to the column width rounded up to a multiple of 8.
    pub fn with_tabs(min_width: usize, padding: usize) -> Table {
        Table {
            tabs: true,
            ..Table::new(min_width, padding)
        }
    }

    /// Adds one line; `\t` separates (and terminates) cells.
    pub fn line(&mut self, text: &str) {
        self.lines
            .push(text.split('\t').map(str::to_owned).collect());
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        let mut widths = Vec::new();
        self.format(&mut out, &mut widths, 0, self.lines.len());
        out
    }

    /// Go's recursive block formatting: for the column after `widths`, each run of
    /// lines having a terminated cell there is one block with one width.
    fn format(&self, out: &mut String, widths: &mut Vec<usize>, mut line0: usize, line1: usize) {
        let column = widths.len();
        let mut this = line0;
        while this < line1 {
            if column + 1 >= self.lines[this].len() {
                this += 1;
                continue;
            }
            self.write_lines(out, widths, line0, this);
            line0 = this;
            let mut width = self.min_width;
            while this < line1 && column + 1 < self.lines[this].len() {
                width = width.max(self.lines[this][column].chars().count() + self.padding);
                this += 1;
            }
            widths.push(width);
            self.format(out, widths, line0, this);
            widths.pop();
            line0 = this;
        }
        self.write_lines(out, widths, line0, line1);
    }

    fn write_lines(&self, out: &mut String, widths: &[usize], from: usize, to: usize) {
        for line in &self.lines[from..to] {
            for (j, cell) in line.iter().enumerate() {
                out.push_str(cell);
                if j < widths.len() && self.tabs {
                    let cell_width = widths[j].div_ceil(TAB_WIDTH) * TAB_WIDTH;
                    let pad = cell_width.saturating_sub(cell.chars().count());
                    out.extend(std::iter::repeat_n('\t', pad.div_ceil(TAB_WIDTH)));
                } else if j < widths.len() {
                    let pad = widths[j].saturating_sub(cell.chars().count());
                    out.extend(std::iter::repeat_n(' ', pad));
                }
            }
            out.push('\n');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Output of ctr 1.6.20, as printed on this machine.
    #[test]
    fn matches_ctr_tasks_ls() {
        let mut t = Table::new(4, 4);
        t.line("TASK\tPID\tSTATUS\t");
        t.line("p2\t7782\tRUNNING");
        assert_eq!(
            t.render(),
            "TASK    PID     STATUS    \np2      7782    RUNNING\n"
        );
    }

    #[test]
    fn matches_ctr_containers_ls() {
        let mut t = Table::new(4, 4);
        t.line("CONTAINER\tIMAGE\tRUNTIME\t");
        t.line("p1\t-\tio.containerd.runc.v2\t");
        assert_eq!(
            t.render(),
            "CONTAINER    IMAGE    RUNTIME                  \np1           -        io.containerd.runc.v2    \n"
        );
    }

    #[test]
    fn matches_ctr_namespaces_ls() {
        let mut t = Table::new(1, 1);
        t.line("NAME\tLABELS\t");
        t.line("foo\ta=b,c=d\t");
        t.line("probe\t\t");
        assert_eq!(
            t.render(),
            "NAME  LABELS  \nfoo   a=b,c=d \nprobe         \n"
        );
    }

    #[test]
    fn matches_ctr_content_ls_with_tabs() {
        let mut t = Table::with_tabs(1, 1);
        let digest = format!("sha256:{}", "a".repeat(64));
        t.line("DIGEST\tSIZE\tAGE\tLABELS");
        t.line(&format!("{digest}\t395B\tLess than a second\tk=v"));
        assert_eq!(
            t.render(),
            format!(
                "DIGEST\t\t\t\t\t\t\t\t\tSIZE\tAGE\t\t\tLABELS\n{digest}\t395B\tLess than a second\tk=v\n"
            )
        );
    }

    #[test]
    fn an_empty_line_ends_the_blocks() {
        let mut t = Table::new(1, 4);
        t.line("ID\tTIMESTAMP\t");
        t.line("p2\t2026-11-28 09:48:30.187549055 +0000 UTC\t");
        t.line("");
        t.line("METRIC\tVALUE\t");
        t.line("pids.current\t1\t");
        assert_eq!(
            t.render(),
            "ID    TIMESTAMP                                  \n\
             p2    2026-11-28 09:48:30.187549055 +0000 UTC    \n\
             \n\
             METRIC          VALUE    \n\
             pids.current    1        \n"
        );
    }
}
