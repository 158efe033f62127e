//! Errors in what a user gave: each names the input and the fix, in one line (exit code 2).

use std::path::PathBuf;
use std::sync::OnceLock;

/// The name of the running program, as [`crate::cli::main`] set it.
static PROGRAM: OnceLock<String> = OnceLock::new();

/// The name messages and hints give the program: the binary [`crate::cli::main`] runs in
/// (`ftcheck`, or a user's crate's own), else `ftcheck`.
pub fn program() -> &'static str {
    PROGRAM.get().map_or("ftcheck", String::as_str)
}

/// Sets [`program`] (once; later calls change nothing).
pub(crate) fn set_program(name: String) {
    let _ = PROGRAM.set(name);
}

/// Bad input.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// An unknown model.
    #[error("unknown model '{name}'{suggestion}; the `list` command shows all models")]
    UnknownModel {
        /// What was given.
        name: String,
        /// `; did you mean 'x'?` or empty.
        suggestion: String,
    },
    /// An unknown parameter.
    #[error("model '{model}' has no parameter '{name}'{suggestion}; its parameters: {known}")]
    UnknownParam {
        /// Model.
        model: String,
        /// What was given.
        name: String,
        /// Suggestion or empty.
        suggestion: String,
        /// The parameters it has.
        known: String,
    },
    /// A parameter value of the wrong type or out of range.
    #[error("parameter {name}={value} of '{model}': {problem}")]
    BadValue {
        /// Model.
        model: String,
        /// Parameter.
        name: String,
        /// What was given.
        value: String,
        /// What is expected.
        problem: String,
    },
    /// Parameters that are each in range but inconsistent together.
    #[error("parameters of '{model}' do not fit together: {problem}")]
    Inconsistent {
        /// Model.
        model: String,
        /// What is wrong and how to fix it.
        problem: String,
    },
    /// An unknown variant.
    #[error("model '{model}' has no variant '{name}'{suggestion}; its variants: {known}")]
    UnknownVariant {
        /// Model.
        model: String,
        /// What was given.
        name: String,
        /// Suggestion or empty.
        suggestion: String,
        /// Its variants.
        known: String,
    },
    /// An option that does not apply.
    #[error("{0}")]
    Usage(String),
    /// Bad input that a child process of this program has already reported on its own line
    /// (the program prints nothing more, and exits 2).
    #[error("reported above")]
    Reported,
    /// A file that cannot be read or parsed.
    #[error("{path}: {problem}")]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong and how to fix it.
        problem: String,
    },
}

/// `; did you mean 'x'?` for the nearest of `known` to `given`, if it is near.
pub fn suggest<'a>(given: &str, known: impl IntoIterator<Item = &'a str>) -> String {
    known
        .into_iter()
        .map(|k| (strsim::levenshtein(given, k), k))
        .filter(|(d, k)| *d <= 3.max(k.len() / 3) && *d < k.len())
        .min()
        .map(|(_, k)| format!("; did you mean '{k}'?"))
        .unwrap_or_default()
}

/// Reads a text file of at most `limit` bytes: input is never read without bound.
pub fn read_limited(path: &std::path::Path, limit: u64) -> std::io::Result<String> {
    use std::io::Read;
    let file = std::fs::File::open(path)?;
    let mut text = String::new();
    file.take(limit + 1).read_to_string(&mut text)?;
    if text.len() as u64 > limit {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("larger than {} bytes, this file kind's limit", limit),
        ));
    }
    Ok(text)
}

/// The line and column (from 1, in characters) of byte `offset` of `text`.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut end = offset.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let before = &text[..end];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}
