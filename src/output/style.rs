//! ANSI styling, applied only when colour is on (a terminal, NO_COLOR
//! unset, or `--color always`).

/// A text style.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paint {
    /// Bold, for labels and headers.
    Bold,
    /// Green, for positive verdicts and network bits.
    Green,
    /// Red, for negative verdicts.
    Red,
    /// Dim, for host bits and secondary text.
    Dim,
    /// Cyan, for addresses that stand out.
    Cyan,
    /// Yellow, for warnings.
    Yellow,
}

impl Paint {
    fn code(self) -> &'static str {
        match self {
            Paint::Bold => "1",
            Paint::Green => "32",
            Paint::Red => "31",
            Paint::Dim => "2",
            Paint::Cyan => "36",
            Paint::Yellow => "33",
        }
    }
}

/// `text` in `style` when `on`, else `text` unchanged.
pub fn paint(on: bool, style: Paint, text: &str) -> String {
    if on && !text.is_empty() {
        format!("\x1b[{}m{text}\x1b[0m", style.code())
    } else {
        text.to_string()
    }
}
