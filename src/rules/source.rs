//! Rules from a local folder trusted by configuration: `<dir>/<CC>/*.json`, one EU-format rule
//! per file, the folder naming the rule's country; `<dir>/valuesets/*.json`, EU value-set
//! documents (`valueSetId`, `valueSetValues`) replacing the bundled set of the same id. Bounded: at most [`MAX_FILES`] files, each
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
    /// The rules, with the folder's value sets.
    pub set: RuleSet,
    /// `(source, id, codes)` of `valuesets/*.json`.
    pub value_sets: Vec<crate::rules::SourcedValueSet>,
    pub rejected: Vec<Rejected>,
}

fn sorted_entries(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    out.sort();
    out
}

/// Reads every rule and value set under `dir` (a missing folder holds none).
pub fn load_dir(dir: &Path, source: &str) -> Loaded {
    let mut loaded = read_rules(dir, source);
    for path in sorted_entries(&dir.join("valuesets"))
        .into_iter()
        .take(MAX_FILES)
    {
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("?");
        let file = format!("valuesets/{}", name.chars().take(80).collect::<String>());
        let read = std::fs::metadata(&path)
            .ok()
            .filter(|m| m.len() <= super::service::MAX_VALUE_SET_BYTES)
            .and_then(|_| std::fs::read_to_string(&path).ok())
            .and_then(|text| super::service::value_set_codes(&text));
        match read {
            Some((id, codes)) => loaded.value_sets.push((source.to_owned(), id, codes)),
            None => {
                tracing::warn!(
                    file,
                    "value set rejected: not a readable value-set document"
                );
                loaded.rejected.push(Rejected {
                    file,
                    error: RuleError::Malformed("not a value-set document".into()),
                });
            }
        }
    }
    let rules = std::mem::take(&mut loaded.set.rules);
    loaded.set = RuleSet::new(rules, loaded.value_sets.clone());
    loaded
}

fn read_rules(dir: &Path, source: &str) -> Loaded {
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
        // A value set of the folder replaces the bundled one of its id; a broken one is refused.
        std::fs::create_dir_all(dir.join("valuesets")).unwrap();
        std::fs::write(
            dir.join("valuesets/vaccines.json"),
            br#"{"valueSetId": "vaccines-covid-19-names", "valueSetValues": {"X": {}}}"#,
        )
        .unwrap();
        std::fs::write(dir.join("valuesets/broken.json"), b"[]").unwrap();
        let loaded = load_dir(&dir, "t");
        assert_eq!(
            loaded.set.value_sets()["vaccines-covid-19-names"],
            serde_json::json!(["X"])
        );
        assert!(
            loaded.set.value_sets()["country-2-codes"]
                .as_array()
                .is_some_and(|a| a.len() > 100)
        );
        assert!(
            loaded
                .rejected
                .iter()
                .any(|r| r.file == "valuesets/broken.json")
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
