//! `certlogic eval|validate` and `rules eval`: the CertLogic evaluator and the rule engine on
//! files, for rule authors and conformance checks.
//!
//! * `certlogic eval --expr E.json --data D.json` prints the result as JSON (exit 0; exit 1
//!   with the message on stderr on an evaluation error).
//! * `certlogic validate --expr E.json` prints the issues as JSON (exit 0 none, 1 some).
//! * `rules eval --rule R.json --payload DCC.json --external EXT.json` prints
//!   `{"result": "PASSED"|"FAIL"|"OPEN", "identifier", "version", "reason"}` (exit 0 PASSED,
//!   1 FAIL or OPEN, 2 a rule or file that cannot be used). `external` is the rule's
//!   `external` object (`validationClock`, `countryCode`, `issuerCountryCode`, `exp`, `iat`,
//!   `kid`, `region`, `valueSets`); without `valueSets` the bundled EU value sets are used.

use std::path::PathBuf;

use serde_json::{Value, json};

use super::{EXIT_INVALID, EXIT_VALID, read_file};

#[derive(Debug, clap::Subcommand)]
pub enum CertlogicCommand {
    /// Evaluate a CertLogic expression on a data context.
    Eval {
        #[arg(long, value_name = "FILE")]
        expr: PathBuf,
        #[arg(long, value_name = "FILE")]
        data: PathBuf,
    },
    /// List why an expression is not valid CertLogic.
    Validate {
        #[arg(long, value_name = "FILE")]
        expr: PathBuf,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum RulesCommand {
    /// Evaluate one business rule on a DCC payload and external parameters.
    Eval {
        #[arg(long, value_name = "FILE")]
        rule: PathBuf,
        #[arg(long, value_name = "FILE")]
        payload: PathBuf,
        #[arg(long, value_name = "FILE")]
        external: PathBuf,
    },
}

fn json_file(path: &PathBuf) -> Result<Value, String> {
    serde_json::from_slice(&read_file(path)?)
        .map_err(|e| format!("{}: not JSON: {e}", path.display()))
}

fn print(v: &Value) -> Result<(), String> {
    use std::io::Write;
    writeln!(std::io::stdout(), "{v}").map_err(|e| e.to_string())
}

pub fn certlogic(command: &CertlogicCommand) -> Result<u8, String> {
    match command {
        CertlogicCommand::Eval { expr, data } => {
            let (expr, data) = (json_file(expr)?, json_file(data)?);
            match crate::certlogic::evaluate_json(&expr, &data) {
                Ok(v) => print(&v).map(|()| EXIT_VALID),
                Err(e) => {
                    eprintln!("evaluation error: {e}");
                    Ok(EXIT_INVALID)
                }
            }
        }
        CertlogicCommand::Validate { expr } => {
            let issues = crate::certlogic::validate(&json_file(expr)?);
            print(&json!(issues))?;
            Ok(if issues.is_empty() {
                EXIT_VALID
            } else {
                EXIT_INVALID
            })
        }
    }
}

pub fn rules(command: &RulesCommand) -> Result<u8, String> {
    let RulesCommand::Eval {
        rule,
        payload,
        external,
    } = command;
    let checked = crate::rules::parse(&read_file(rule)?, "cli")
        .map_err(|e| format!("{}: {e}", rule.display()))?;
    let payload = json_file(payload)?;
    let mut external = json_file(external)?;
    let Some(ext) = external.as_object_mut() else {
        return Err("the external parameters must be a JSON object".into());
    };
    ext.entry("valueSets")
        .or_insert_with(|| crate::hcert::payload::value_sets_by_id().clone());
    let ver = payload
        .get("ver")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let data = json!({"payload": payload, "external": external});
    let (outcome, reason) = crate::rules::explain(&checked, &data, ver.as_deref());
    print(&json!({
        "result": outcome,
        "identifier": checked.rule.identifier,
        "version": checked.rule.version,
        "reason": reason,
    }))?;
    Ok(if outcome == crate::rules::Outcome::Passed {
        EXIT_VALID
    } else {
        EXIT_INVALID
    })
}
