//! Rules from a local folder trusted by configuration: `<dir>/<CC>/*.json`, one EU-format rule
//! per file, the folder naming the rule's country. Bounded: at most [`MAX_FILES`] files, each
//! at most [`super::MAX_RULE_BYTES`] (checked before reading); a bad file is rejected alone,
//! with its reason, and the others stay.

use std::path::Path;

use super::{Checked, RuleError, RuleSet};

/// The source name of the instance-local rules folder (never shared through Redis: each
/// instance reads its own).
pub const LOCAL: &str = "local-rules";

/// Most rule files read from one folder.
pub const MAX_FILES: usize = 10_000;

/// A rule file that was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// `<CC>/<file name>`.
    pub file: String,
    pub error: RuleError,
}

/// What a folder yields.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    pub set: RuleSet,
    pub rejected: Vec<Rejected>,
}

fn sorted_entries(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    out.sort();
    out
}

/// Reads every rule under `dir` (a missing folder holds no rule).
pub fn load_dir(dir: &Path, source: &str) -> Loaded {
    let mut loaded = Loaded::default();
    let mut files = 0usize;
    for folder in sorted_entries(dir) {
        let Some(cc) = folder
            .file_name()
            .and_then(|n| n.to_str())
            .map(str::to_owned)
        else {
            continue;
        };
        if !(folder.is_dir() && cc.len() == 2 && cc.bytes().all(|b| b.is_ascii_uppercase())) {
            continue;
        }
        for path in sorted_entries(&folder) {
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            files += 1;
            if files > MAX_FILES {
                tracing::warn!(dir = %dir.display(), max = MAX_FILES, "rule folder holds too many files; the rest is ignored");
                return loaded;
            }
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("?");
            let file = format!("{cc}/{}", name.chars().take(80).collect::<String>());
            match read_rule(&path, source, &cc) {
                Ok(rule) => loaded.set.rules.push(rule),
                Err(error) => {
                    tracing::warn!(file, code = error.code(), %error, "business rule rejected");
                    loaded.rejected.push(Rejected { file, error });
                }
            }
        }
    }
    loaded
}

fn read_rule(path: &Path, source: &str, folder: &str) -> Result<Checked, RuleError> {
    let len = std::fs::metadata(path)
        .map_err(|e| RuleError::Read(e.kind()))?
        .len();
    if len > super::MAX_RULE_BYTES as u64 {
        return Err(RuleError::TooLarge);
    }
    let bytes = std::fs::read(path).map_err(|e| RuleError::Read(e.kind()))?;
    let rule = super::parse(&bytes, source)?;
    if rule.rule.country != folder {
        return Err(RuleError::CountryMismatch {
            rule: rule.rule.country.clone(),
            folder: folder.to_owned(),
        });
    }
    Ok(rule)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_file_is_rejected_alone_and_the_folder_names_the_country() {
        let dir = std::env::temp_dir().join(format!("dccgw-rules-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("VN")).unwrap();
        std::fs::create_dir_all(dir.join("DE")).unwrap();
        let shipped = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/trust-lists/rules/VN/VR-VN-0001.json"
        );
        let good = std::fs::read(shipped).unwrap();
        std::fs::write(dir.join("VN/good.json"), &good).unwrap();
        std::fs::write(dir.join("DE/wrong-country.json"), &good).unwrap();
        std::fs::write(dir.join("VN/broken.json"), b"{\"Identifier\": 1}").unwrap();
        std::fs::write(dir.join("VN/notes.txt"), b"ignored").unwrap();
        let loaded = load_dir(&dir, "t");
        assert_eq!(loaded.set.rules.len(), 1);
        let codes: Vec<&str> = loaded.rejected.iter().map(|r| r.error.code()).collect();
        assert_eq!(codes, ["RULE_COUNTRY_MISMATCH", "RULE_MALFORMED"]);
        assert_eq!(loaded.rejected[0].file, "DE/wrong-country.json");
        assert!(load_dir(&dir.join("absent"), "t").set.rules.is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
