//! `dcc-gateway verify`: offline, one-shot verification against the trust material given on
//! the command line.

use std::io::{Read, Write};
use std::path::PathBuf;

use clap::ValueEnum;
use time::OffsetDateTime;

use super::{EXIT_INVALID, EXIT_VALID, parse_at, read_file};
use crate::crypto::default_verifier;
use crate::hcert::{self, Detail, Finding, Limits, VerificationResult, VerifyOptions};
use crate::trust::formats::eu_json;
use crate::trust::model::{Dsc, TrustSnapshot};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DetailArg {
    Minimal,
    Full,
}

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// A trusted DSC: PEM (one or a bundle) or DER certificate file. Repeatable.
    #[arg(long = "trust", value_name = "FILE")]
    pub trust: Vec<PathBuf>,
    /// An EU-gateway-format trust list (JSON array of TrustListItem). Repeatable.
    #[arg(long = "trust-list", value_name = "FILE")]
    pub trust_list: Vec<PathBuf>,
    /// A trusted NZ COVID Pass issuer's DID document (`did.json`). Repeatable.
    #[arg(long = "nzcp-did", value_name = "FILE")]
    pub nzcp_did: Vec<PathBuf>,
    /// A trusted SMART Health Card issuer's key set: `ISSUER=FILE` (the `iss` URL and its
    /// `jwks.json`). Repeatable.
    #[arg(long = "shc-jwks", value_name = "ISSUER=FILE")]
    pub shc_jwks: Vec<String>,
    /// A SMART Health Card issuer's revocation list for one key: `ISSUER=FILE` (the `iss` URL
    /// and its `crl/<kid>.json`). Repeatable.
    #[arg(long = "shc-crl", value_name = "ISSUER=FILE")]
    pub shc_crl: Vec<String>,
    /// The CSCAs of an ICAO VDS-NC issuing state: `STATE=FILE` (its code as in `hdr.is`, e.g.
    /// AUS, and a PEM bundle). Repeatable.
    #[arg(long = "icao-csca", value_name = "STATE=FILE")]
    pub icao_csca: Vec<String>,
    /// CRLs of an ICAO VDS-NC issuing state's CSCAs: `STATE=FILE` (PEM or DER). Repeatable.
    #[arg(long = "icao-crl", value_name = "STATE=FILE")]
    pub icao_crl: Vec<String>,
    /// Trusts the public keys in FILE (PEM, RSA or Ed25519) for DIVOC credentials whose
    /// `verificationMethod` is METHOD (e.g. `did:india=india.pem`); repeatable.
    #[arg(long = "divoc-key", value_name = "METHOD=FILE")]
    pub divoc_key: Vec<String>,
    /// Verify at this instant (RFC 3339, e.g. 2021-06-01T00:00:00Z); default now.
    #[arg(long, value_name = "RFC3339", value_parser = parse_at)]
    pub at: Option<OffsetDateTime>,
    /// Print the VerificationResult JSON.
    #[arg(long)]
    pub json: bool,
    /// How much of the certificate to show.
    #[arg(long, value_enum, default_value = "minimal")]
    pub detail: DetailArg,
    /// Treat codes outside the EU value sets as errors rather than warnings.
    #[arg(long)]
    pub strict_valuesets: bool,
    /// Read the QR code from a PNG or JPEG image.
    #[arg(long, value_name = "FILE", conflicts_with = "qr")]
    pub image: Option<PathBuf>,
    /// Revocation batches (EU batch JSON): a `<batchId>.json` file or a folder of them; a
    /// certificate they name is invalid with REVOKED.
    #[arg(long, value_name = "FILE|DIR")]
    pub revocation: Option<PathBuf>,
    /// Apply this destination country's business rules (ISO 3166-1 alpha-2, e.g. VN): the
    /// answer gains the rules' outcome, and the exit status is 0 only when the certificate is
    /// valid and admissible.
    #[arg(long, value_name = "CC", requires = "rules")]
    pub destination: Option<String>,
    /// The destination's region, with --destination.
    #[arg(long, value_name = "REGION", requires = "destination")]
    pub region: Option<String>,
    /// Business rules folder (`<CC>/*.json`, e.g. trust-lists/rules), with --destination.
    #[arg(long, value_name = "DIR", requires = "destination")]
    pub rules: Option<PathBuf>,
    /// The QR text (`HC1:…`, `NZCP:/1/…`, `shc:/…`, a VDS-NC JSON), or `-` to read it from
    /// stdin.
    #[arg(value_name = "QR", required_unless_present = "image")]
    pub qr: Option<String>,
}

/// The revocation batches of a batch file or a folder of them (each bad batch reported on
/// stderr and skipped).
fn load_revocations(path: &std::path::Path) -> Result<Vec<crate::revocation::Batch>, String> {
    let now = crate::clock::now();
    let bundle = if path.is_dir() {
        crate::revocation::read_dir(path, 256 * 1024 * 1024).map_err(|e| e.to_string())?
    } else {
        let id = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_owned();
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        crate::revocation::Bundle {
            batches: vec![(id, Some(text))],
        }
    };
    let (batches, rejected) = crate::revocation::ingest(&bundle, "cli", now);
    for (id, code) in rejected {
        eprintln!("warning: revocation batch {id} skipped: {code}");
    }
    Ok(batches)
}

/// The issuer keys of non-EU passes named on the command line (each refused key reported on
/// stderr and skipped).
fn load_pass_keys(
    dids: &[PathBuf],
    jwks: &[String],
    crls: &[String],
    cscas: &[String],
    icao_crls: &[String],
    divoc: &[String],
) -> Result<Vec<crate::passes::PassKey>, String> {
    use crate::trust::formats::Format;
    let mut keys = Vec::new();
    let mut add = |format: Format, path: &PathBuf, issuer: Option<&str>| {
        let bytes = read_file(path)?;
        let (found, refused) = crate::passes::ingest(format, &bytes, issuer, "cli")
            .map_err(|e| format!("{}: {e}", path.display()))?;
        for (name, code) in refused {
            eprintln!("warning: {}: key {name} skipped: {code}", path.display());
        }
        keys.extend(found);
        Ok::<(), String>(())
    };
    for path in dids {
        add(Format::NzcpDid, path, None)?;
    }
    for (flag, format, specs) in [
        ("--shc-jwks", Format::ShcJwks, jwks),
        ("--shc-crl", Format::ShcCrl, crls),
        ("--icao-csca", Format::IcaoCsca, cscas),
        ("--icao-crl", Format::IcaoCrl, icao_crls),
        ("--divoc-key", Format::DivocKey, divoc),
    ] {
        for spec in specs {
            let Some((issuer, path)) = spec.split_once('=') else {
                return Err(format!("{flag} {spec}: expected ISSUER=FILE"));
            };
            add(format, &PathBuf::from(path), Some(issuer))?;
        }
    }
    Ok(keys)
}

/// Loads the trust material named on the command line into a snapshot.
pub fn load_trust(trust: &[PathBuf], trust_lists: &[PathBuf]) -> Result<TrustSnapshot, String> {
    let mut dscs = Vec::new();
    for path in trust {
        let bytes = read_file(path)?;
        let loaded =
            Dsc::from_pem_or_der(&bytes, "cli").map_err(|e| format!("{}: {e}", path.display()))?;
        dscs.extend(loaded);
    }
    for path in trust_lists {
        let bytes = read_file(path)?;
        let parsed = eu_json::parse_dscs(&bytes, "cli-trust-list")
            .map_err(|e| format!("{}: {e}", path.display()))?;
        for (index, reason) in &parsed.rejected {
            eprintln!(
                "warning: {}: entry {index} skipped: {reason}",
                path.display()
            );
        }
        dscs.extend(parsed.dscs);
    }
    Ok(TrustSnapshot::new(0, dscs))
}

pub fn verify(args: &VerifyArgs) -> Result<u8, String> {
    let mut snapshot = load_trust(&args.trust, &args.trust_list)?;
    let pass_keys = load_pass_keys(
        &args.nzcp_did,
        &args.shc_jwks,
        &args.shc_crl,
        &args.icao_csca,
        &args.icao_crl,
        &args.divoc_key,
    )?;
    if !pass_keys.is_empty() {
        snapshot = snapshot.with_pass_keys(pass_keys);
    }
    if let Some(path) = &args.revocation {
        snapshot = snapshot.with_revocations(load_revocations(path)?);
    }
    let limits = Limits::default();
    let opts = VerifyOptions {
        at: args.at.unwrap_or_else(crate::clock::now),
        detail: match args.detail {
            DetailArg::Minimal => Detail::Minimal,
            DetailArg::Full => Detail::Full,
        },
        strict_valuesets: args.strict_valuesets,
    };
    let qr = match (&args.image, args.qr.as_deref()) {
        (Some(path), _) => {
            let bytes = read_file(path)?;
            crate::qr::decode_image(&bytes, &limits).map_err(|e| Finding::from_error(&e))
        }
        (None, Some("-")) => {
            let mut text = String::new();
            std::io::stdin()
                .take(limits.max_qr_chars as u64 + 2)
                .read_to_string(&mut text)
                .map_err(|e| format!("stdin: {e}"))?;
            // A trailing newline is a shell artefact, not part of the QR payload.
            let trimmed = text.strip_suffix('\n').unwrap_or(&text);
            Ok(trimmed.strip_suffix('\r').unwrap_or(trimmed).to_owned())
        }
        (None, Some(qr)) => Ok(qr.to_owned()),
        (None, None) => return Err("give a QR text, `-` or --image FILE".to_owned()),
    };
    let (result, signed) = match qr {
        Ok(qr) if crate::passes::detect(&qr) != crate::hcert::PassFormat::EuDcc => (
            crate::passes::verify(
                crate::passes::detect(&qr),
                &qr,
                &snapshot,
                opts.at,
                opts.detail,
            ),
            None,
        ),
        Ok(qr) => {
            let outcome = hcert::check_signed(&qr, &snapshot, default_verifier(), &limits);
            (hcert::evaluate(&outcome, &snapshot, &opts), outcome.ok())
        }
        Err(finding) => (hcert::rejected(finding, &snapshot, &opts), None),
    };
    let Some(country) = &args.destination else {
        print_result(&result, args.json)?;
        return Ok(if result.valid {
            EXIT_VALID
        } else {
            EXIT_INVALID
        });
    };
    if !(country.len() == 2 && country.bytes().all(|b| b.is_ascii_uppercase())) {
        return Err(format!(
            "--destination {country:?}: two upper-case letters, e.g. VN"
        ));
    }
    let dir = args.rules.clone().unwrap_or_default();
    let loaded = crate::rules::source::load_dir(&dir, crate::rules::source::LOCAL);
    for r in &loaded.rejected {
        eprintln!("warning: {}: rule rejected: {}", r.file, r.error);
    }
    let assessment = match &signed {
        Some(signed) if result.valid && signed.claims.format == hcert::PassFormat::EuDcc => {
            Some(crate::rules::assess_certificate(
                &loaded.set,
                signed,
                opts.at,
                country,
                args.region.as_deref(),
            ))
        }
        _ => None,
    };
    let admissible = assessment.as_ref().and_then(|a| a.admissible);
    if args.json {
        let mut v = serde_json::to_value(&result).map_err(|e| format!("json: {e}"))?;
        if let Some(map) = v.as_object_mut() {
            if let Some(a) = &assessment {
                map.insert(
                    "rules".into(),
                    serde_json::to_value(a).map_err(|e| e.to_string())?,
                );
            }
            map.insert(
                "admissible".into(),
                serde_json::json!(if result.valid {
                    admissible
                } else {
                    Some(false)
                }),
            );
        }
        let text = serde_json::to_string_pretty(&v).map_err(|e| format!("json: {e}"))?;
        writeln!(std::io::stdout(), "{text}").map_err(|e| format!("stdout: {e}"))?;
    } else {
        print_result(&result, false)?;
        print_assessment(country, assessment.as_ref())?;
    }
    Ok(if result.valid && admissible == Some(true) {
        EXIT_VALID
    } else {
        EXIT_INVALID
    })
}

fn print_assessment(country: &str, a: Option<&crate::rules::Assessment>) -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    let mut line = |text: String| writeln!(out, "{text}").map_err(|e| format!("stdout: {e}"));
    let Some(a) = a else {
        return line(format!(
            "NOT ADMISSIBLE to {country}: the certificate is not valid"
        ));
    };
    let verdict = match a.admissible {
        Some(true) => "ADMISSIBLE",
        Some(false) => "NOT ADMISSIBLE",
        None => "UNDECIDED",
    };
    line(format!(
        "{verdict} to {country}: {} passed, {} failed, {} open",
        a.passed.len(),
        a.failed.len(),
        a.open.len()
    ))?;
    for (what, rules) in [("failed", &a.failed), ("open  ", &a.open)] {
        for r in rules {
            line(format!(
                "  {what} {} {}",
                r.identifier,
                r.description.as_deref().unwrap_or("")
            ))?;
        }
    }
    Ok(())
}

fn print_result(result: &VerificationResult, json: bool) -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    let write = |out: &mut std::io::StdoutLock<'_>, text: String| {
        writeln!(out, "{text}").map_err(|e| format!("stdout: {e}"))
    };
    if json {
        let text = serde_json::to_string_pretty(result).map_err(|e| format!("json: {e}"))?;
        return write(&mut out, text);
    }
    write(
        &mut out,
        format!("{:?} at {}", result.status, result.checked_at).to_uppercase(),
    )?;
    for f in &result.errors {
        write(&mut out, format!("  error   {}: {}", f.code, f.message))?;
    }
    for f in &result.warnings {
        write(&mut out, format!("  warning {}: {}", f.code, f.message))?;
    }
    if let Some(c) = &result.certificate {
        let kind = c.cert_type.map_or("unknown", |t| t.name());
        let name = c.holder.name.clone().unwrap_or_else(|| {
            [&c.holder.given_name, &c.holder.family_name]
                .into_iter()
                .flatten()
                .cloned()
                .collect::<Vec<_>>()
                .join(" ")
        });
        write(
            &mut out,
            format!(
                "  {} {kind} certificate for {name} (born {})",
                result.format.name(),
                c.holder.date_of_birth.as_deref().unwrap_or("?")
            ),
        )?;
        write(
            &mut out,
            format!(
                "  issued by {} kid {} ({}), expires {}",
                c.issuer_country
                    .as_deref()
                    .or(c.iss.as_deref())
                    .unwrap_or("?"),
                c.kid,
                c.alg.name(),
                c.expires_at.as_deref().unwrap_or("never")
            ),
        )?;
    }
    Ok(())
}
