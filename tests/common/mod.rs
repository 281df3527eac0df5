//! What more than one test crate needs.

use std::path::{Path, PathBuf};

/// Searches every file below `root` (but not those `skip` says are
/// credential stores by design) and the named `texts` for any of `forms`.
/// Returns how many files were read and the places that hold a form.
pub fn places_holding(
    root: &Path,
    texts: &[(&str, &str)],
    forms: &[String],
    skip: impl Fn(&Path) -> bool,
) -> (usize, Vec<String>) {
    let mut places: Vec<(String, String)> = texts
        .iter()
        .map(|(place, text)| (place.to_string(), text.to_string()))
        .collect();
    let mut files = 0;
    let mut stack: Vec<PathBuf> = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = e.path();
            if skip(&path) {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(bytes) = std::fs::read(&path) {
                files += 1;
                places.push((
                    path.display().to_string(),
                    String::from_utf8_lossy(&bytes).into_owned(),
                ));
            }
        }
    }
    let leaks = places
        .into_iter()
        .filter(|(_, text)| forms.iter().any(|f| text.contains(f.as_str())))
        .map(|(place, _)| place)
        .collect();
    (files, leaks)
}
