//! Where the course lives on disk: the folder holding `Cargo.toml` and `exercises/`.

use std::path::{Path, PathBuf};

use crate::UsageError;

/// Finds the course folder from the current directory or one of its parents, so that
/// `cargo run` works from anywhere inside the repository, as cargo itself does.
pub fn root() -> Result<PathBuf, UsageError> {
    let here = std::env::current_dir()
        .map_err(|error| UsageError(format!("cannot read the current directory: {error}")))?;
    here.ancestors().find(|dir| is_course(dir)).map(Path::to_path_buf).ok_or_else(|| {
        UsageError(format!(
            "{} is not inside the httplings repository: run httplings from its folder",
            here.display()
        ))
    })
}

fn is_course(dir: &Path) -> bool {
    dir.join("Cargo.toml").is_file()
        && dir.join("exercises").is_dir()
        && dir.join("lessons").is_dir()
}
