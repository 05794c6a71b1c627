//! Vietnam's key set on disk (`keys init`, `keys rotate`, `keys list`).
//!
//! Under `<data_dir>/keys/` (private keys as PKCS#8 PEM, mode 0600, created with `create_new`
//! and never overwritten):
//!
//! | files | what |
//! |---|---|
//! | `csca.pem`, `csca.key.pem` | VN Country Signing CA, self-signed, 10 years, the `--alg` |
//! | `upload.pem`, `upload.key.pem` | UPLOAD certificate (CMS signatures of published entries), by the CSCA, 2 years, the `--alg` |
//! | `list-signer.pem`, `list-signer.key.pem` | list-signing key, always ES256/P-256, by the CSCA, 2 years |
//! | `dsc-<n>.pem`, `dsc-<n>.key.pem` | every DSC ever issued (n = 1, 2, …), by the CSCA, DCC EKUs, 2 years |
//! | `dsc.pem`, `dsc.key.pem` | copies of the current DSC (read by [`super::issue::load_signer`]) |
//!
//! `csca.pem` is written last: its presence means the set is complete. Certificates are written
//! atomically (temporary file + rename); the `dsc.key.pem` copy is replaced the same way on
//! rotation (the key itself stays in `dsc-<n>.key.pem`).
//!
//! Public certificates go to a publication directory (default `trust-lists/VN`): `csca.pem`,
//! `upload.pem`, `list-signer.pem`, and the DSCs not yet expired in `dsc/dsc-<n>.pem`. Only DSCs
//! ever go into `dsc/`: that folder is ingested as trusted DSCs.
//!
//! A DSC is valid for 2 years, longer than the 12 months of the certificates it signs (hcert
//! spec §5), and never beyond the CSCA.

use std::path::{Path, PathBuf};

use time::{Duration, OffsetDateTime};

use super::mint::{
    self, CertSpec, EKU_RECOVERY, EKU_TEST, EKU_VACCINATION, MintError, Minted, SignerKey,
};
use crate::crypto::{Alg, PublicKey};
use crate::trust::model::{Dsc, Kid};
use crate::trust::validate::issued_by;

/// Subject country of every certificate in the set.
pub const COUNTRY: &str = "VN";
/// Subject organisation of every certificate in the set.
pub const ORGANIZATION: &str = "Ministry of Health";

const CSCA_YEARS: i32 = 10;
/// UPLOAD, list signer and DSCs.
const CERT_YEARS: i32 = 2;
/// The longest DCC a DSC signs (Vietnam: 12 months, `issue --valid-for` default).
const DCC_VALIDITY: Duration = Duration::days(365);
/// `not_before` lies this far before `now`, for verifiers with a slow clock.
const SKEW: Duration = Duration::hours(1);

// X.509 serial numbers, unique under the CSCA's name (the CSCA is its own issuer too).
// DSC n has serial n.
const SERIAL_CSCA: u64 = 1 << 40;
const SERIAL_UPLOAD: u64 = 2 << 40;
const SERIAL_LIST: u64 = 3 << 40;

/// Why the key set could not be created, loaded or rotated.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Mint(#[from] MintError),
    #[error(
        "{}: already exists; keys are never overwritten (remove the key set first to start over)",
        .0.display()
    )]
    Exists(PathBuf),
    #[error("{}: no key set there (run `dcc-gateway keys init`)", .0.display())]
    Missing(PathBuf),
    #[error("corrupt key set: {0}")]
    Corrupt(String),
    #[error("the CSCA expires at {0}: too soon for a DSC covering 12-month certificates")]
    CscaExpiring(OffsetDateTime),
}

/// A certificate: DER and PEM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cert {
    pub der: Vec<u8>,
    pub pem: String,
}

impl Cert {
    fn from_der(der: Vec<u8>) -> Cert {
        let pem = super::pem_encode("CERTIFICATE", &der);
        Cert { der, pem }
    }

    /// The hcert key identifier of the certificate.
    pub fn kid(&self) -> Kid {
        Kid::of_der(&self.der)
    }

    /// The signature algorithm its key is for (P-256: ES256, RSA: PS256).
    pub fn alg(&self) -> Result<Alg, KeyError> {
        let dsc = Dsc::from_der(&self.der, "VN").map_err(|e| KeyError::Corrupt(e.to_string()))?;
        match dsc.key {
            PublicKey::EcP256 { .. } => Ok(Alg::Es256),
            PublicKey::Rsa { .. } => Ok(Alg::Ps256),
            PublicKey::Unsupported { kind } => {
                Err(KeyError::Corrupt(format!("unsupported key: {kind}")))
            }
        }
    }

    fn validity(&self) -> Result<(OffsetDateTime, OffsetDateTime), KeyError> {
        let dsc = Dsc::from_der(&self.der, "VN").map_err(|e| KeyError::Corrupt(e.to_string()))?;
        Ok((dsc.not_before, dsc.not_after))
    }
}

/// One DSC of the set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DscEntry {
    pub serial: u64,
    pub cert: Cert,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
}

impl DscEntry {
    fn new(serial: u64, cert: Cert) -> Result<DscEntry, KeyError> {
        let (not_before, not_after) = cert.validity()?;
        Ok(DscEntry {
            serial,
            cert,
            not_before,
            not_after,
        })
    }

    /// Whether the DSC has expired at `now` (it is published until then).
    pub fn expired(&self, now: OffsetDateTime) -> bool {
        self.not_after < now
    }

    fn file_name(&self) -> String {
        dsc_file(self.serial)
    }
}

/// Vietnam's key set: CSCA, UPLOAD, list signer and every DSC issued.
#[derive(Debug)]
pub struct KeySet {
    /// The key directory, `<data_dir>/keys`.
    pub dir: PathBuf,
    pub csca: Cert,
    pub upload: Cert,
    pub upload_key: SignerKey,
    pub list_signer: Cert,
    pub list_key: SignerKey,
    /// Every DSC, by increasing serial.
    pub dscs: Vec<DscEntry>,
    /// Serial of the current DSC (the one `issue` signs with).
    pub current: u64,
}

impl KeySet {
    /// Creates a new key set under `<data_dir>/keys/` and publishes its certificates to
    /// `publish_dir`. Refuses ([`KeyError::Exists`]) if `keys/csca.pem` (or any key file it
    /// would create) already exists.
    pub fn init(
        data_dir: &Path,
        publish_dir: &Path,
        alg: Alg,
        now: OffsetDateTime,
    ) -> Result<KeySet, KeyError> {
        let dir = data_dir.join("keys");
        let marker = dir.join("csca.pem");
        if marker.exists() {
            return Err(KeyError::Exists(marker));
        }
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;

        let csca_key = SignerKey::generate(alg)?;
        let csca_spec = spec(
            "VN CSCA",
            now - SKEW,
            add_years(now, CSCA_YEARS)?,
            SERIAL_CSCA,
        );
        let csca = mint::csca(&csca_spec, &csca_key)?;
        let cert_until = add_years(now, CERT_YEARS)?;
        let upload_key = SignerKey::generate(alg)?;
        let upload = mint::signed_by_ca(
            &spec("VN UPLOAD", now - SKEW, cert_until, SERIAL_UPLOAD),
            &upload_key,
            &csca,
            &csca_key,
        )?;
        let list_key = SignerKey::generate(Alg::Es256)?;
        let list_signer = mint::signed_by_ca(
            &spec("VN TRUST LIST SIGNER", now - SKEW, cert_until, SERIAL_LIST),
            &list_key,
            &csca,
            &csca_key,
        )?;
        let dsc_key = SignerKey::generate(alg)?;
        let dsc = mint_dsc(1, &dsc_key, &csca, &csca_key, now)?;

        write_key(&dir.join("csca.key.pem"), &csca_key)?;
        write_key(&dir.join("upload.key.pem"), &upload_key)?;
        write_key(&dir.join("list-signer.key.pem"), &list_key)?;
        write_key(&dir.join(dsc_key_file(1)), &dsc_key)?;
        write_key(&dir.join("dsc.key.pem"), &dsc_key)?;
        let upload = Cert::from_der(upload.der);
        let list_signer = Cert::from_der(list_signer.der);
        write_atomic(&dir.join("upload.pem"), &upload.pem)?;
        write_atomic(&dir.join("list-signer.pem"), &list_signer.pem)?;
        write_atomic(&dir.join(dsc.file_name()), &dsc.cert.pem)?;
        write_atomic(&dir.join("dsc.pem"), &dsc.cert.pem)?;
        let csca = Cert::from_der(csca.der);
        write_atomic(&marker, &csca.pem)?;

        let set = KeySet {
            dir,
            csca,
            upload,
            upload_key,
            list_signer,
            list_key,
            dscs: vec![dsc],
            current: 1,
        };
        set.publish(publish_dir, now)?;
        Ok(set)
    }

    /// Loads the key set from `<data_dir>/keys/` ([`KeyError::Missing`] if not initialised),
    /// checking that every certificate chains to the CSCA.
    pub fn load(data_dir: &Path) -> Result<KeySet, KeyError> {
        let dir = data_dir.join("keys");
        let csca = read_cert(&dir.join("csca.pem"))?;
        let chained = |name: &str, cert: &Cert| {
            if issued_by(&cert.der, &csca.der) {
                Ok(())
            } else {
                Err(KeyError::Corrupt(format!(
                    "{name} is not issued by the CSCA"
                )))
            }
        };
        let upload = read_cert(&dir.join("upload.pem"))?;
        chained("upload.pem", &upload)?;
        let upload_key = read_key(&dir.join("upload.key.pem"), upload.alg()?)?;
        let list_signer = read_cert(&dir.join("list-signer.pem"))?;
        chained("list-signer.pem", &list_signer)?;
        let list_key = read_key(&dir.join("list-signer.key.pem"), list_signer.alg()?)?;

        let mut dscs = Vec::new();
        for entry in std::fs::read_dir(&dir).map_err(io(&dir))? {
            let entry = entry.map_err(io(&dir))?;
            let Some(serial) = entry.file_name().to_str().and_then(dsc_serial) else {
                continue;
            };
            let cert = read_cert(&entry.path())?;
            chained(&dsc_file(serial), &cert)?;
            dscs.push(DscEntry::new(serial, cert)?);
        }
        dscs.sort_by_key(|d| d.serial);
        let current_der = read_cert(&dir.join("dsc.pem"))?.der;
        let current = dscs
            .iter()
            .find(|d| d.cert.der == current_der)
            .map(|d| d.serial)
            .ok_or_else(|| KeyError::Corrupt("dsc.pem is none of the dsc-<n>.pem".into()))?;
        Ok(KeySet {
            dir,
            csca,
            upload,
            upload_key,
            list_signer,
            list_key,
            dscs,
            current,
        })
    }

    /// Issues a new DSC (same algorithm as the current one) and makes it current. Older DSCs
    /// stay published until they expire; expired ones are removed from `publish_dir/dsc/` (their
    /// keys stay in the data directory). Returns the new serial.
    pub fn rotate(&mut self, publish_dir: &Path, now: OffsetDateTime) -> Result<u64, KeyError> {
        let alg = self.current_entry()?.cert.alg()?;
        let csca_key = read_key(&self.dir.join("csca.key.pem"), self.csca.alg()?)?;
        let csca = mint::ca_from_der(&self.csca.der)?;
        let serial = self.dscs.iter().map(|d| d.serial).max().unwrap_or(0) + 1;
        let key = SignerKey::generate(alg)?;
        let dsc = mint_dsc(serial, &key, &csca, &csca_key, now)?;
        write_key(&self.dir.join(dsc_key_file(serial)), &key)?;
        write_atomic(&self.dir.join(dsc.file_name()), &dsc.cert.pem)?;
        // The key copy first: a reader that sees the new dsc.pem finds its key in place.
        replace_key(&self.dir.join("dsc.key.pem"), &key)?;
        write_atomic(&self.dir.join("dsc.pem"), &dsc.cert.pem)?;
        self.dscs.push(dsc);
        self.current = serial;
        self.publish(publish_dir, now)?;
        Ok(serial)
    }

    /// The private key of the current DSC.
    pub fn current_key(&self) -> Result<SignerKey, KeyError> {
        let entry = self.current_entry()?;
        read_key(
            &self.dir.join(dsc_key_file(entry.serial)),
            entry.cert.alg()?,
        )
    }

    /// The DSCs not yet expired at `now`: the ones published.
    pub fn published_dscs(&self, now: OffsetDateTime) -> Vec<&DscEntry> {
        self.dscs.iter().filter(|d| !d.expired(now)).collect()
    }

    /// The entry of the current DSC.
    pub fn current_entry(&self) -> Result<&DscEntry, KeyError> {
        self.dscs
            .iter()
            .find(|d| d.serial == self.current)
            .ok_or_else(|| KeyError::Corrupt(format!("no DSC with serial {}", self.current)))
    }

    /// Writes the public certificates to `publish_dir`: `csca.pem`, `upload.pem`,
    /// `list-signer.pem`, and `dsc/dsc-<n>.pem` for every DSC not expired at `now`. Expired
    /// DSCs, and `dsc-<n>.pem` files of serials this set does not have, are removed from `dsc/`.
    /// Unchanged files are left alone.
    pub fn publish(&self, publish_dir: &Path, now: OffsetDateTime) -> Result<(), KeyError> {
        let dsc_dir = publish_dir.join("dsc");
        std::fs::create_dir_all(&dsc_dir).map_err(io(&dsc_dir))?;
        publish_file(publish_dir, "csca.pem", &self.csca.pem)?;
        publish_file(publish_dir, "upload.pem", &self.upload.pem)?;
        publish_file(publish_dir, "list-signer.pem", &self.list_signer.pem)?;
        for dsc in &self.dscs {
            let path = dsc_dir.join(dsc.file_name());
            if dsc.expired(now) {
                remove_if_present(&path)?;
            } else if std::fs::read(&path).ok().as_deref() != Some(dsc.cert.pem.as_bytes()) {
                // The temporary file sits outside dsc/, so no reader ingests it half-written.
                let tmp =
                    publish_dir.join(format!(".{}.tmp-{}", dsc.file_name(), std::process::id()));
                std::fs::write(&tmp, &dsc.cert.pem).map_err(io(&tmp))?;
                std::fs::rename(&tmp, &path).map_err(io(&path))?;
            }
        }
        for entry in std::fs::read_dir(&dsc_dir).map_err(io(&dsc_dir))? {
            let entry = entry.map_err(io(&dsc_dir))?;
            let Some(serial) = entry.file_name().to_str().and_then(dsc_serial) else {
                continue;
            };
            if !self.dscs.iter().any(|d| d.serial == serial) {
                remove_if_present(&entry.path())?;
            }
        }
        Ok(())
    }
}

fn spec(cn: &str, not_before: OffsetDateTime, not_after: OffsetDateTime, serial: u64) -> CertSpec {
    let mut spec = CertSpec::new(COUNTRY, cn, not_before, not_after);
    spec.organization = Some(ORGANIZATION.to_owned());
    spec.serial = serial;
    spec
}

/// DSC `serial` for `key`, issued by the CSCA: DCC EKUs, 2 years but never beyond the CSCA.
fn mint_dsc(
    serial: u64,
    key: &SignerKey,
    csca: &Minted,
    csca_key: &SignerKey,
    now: OffsetDateTime,
) -> Result<DscEntry, KeyError> {
    let (_, csca_until) = Cert::from_der(csca.der.clone()).validity()?;
    let not_after = add_years(now, CERT_YEARS)?.min(csca_until);
    if not_after < now + DCC_VALIDITY {
        return Err(KeyError::CscaExpiring(csca_until));
    }
    let mut dsc_spec = spec(&format!("VN DSC {serial}"), now - SKEW, not_after, serial);
    dsc_spec.eku = vec![
        EKU_TEST.to_vec(),
        EKU_VACCINATION.to_vec(),
        EKU_RECOVERY.to_vec(),
    ];
    let dsc = mint::signed_by_ca(&dsc_spec, key, csca, csca_key)?;
    if !issued_by(&dsc.der, &csca.der) {
        return Err(KeyError::Corrupt(
            "a new DSC does not chain to the stored CSCA".into(),
        ));
    }
    DscEntry::new(serial, Cert::from_der(dsc.der))
}

/// `t` plus `years` calendar years (29 February becomes 28 February).
fn add_years(t: OffsetDateTime, years: i32) -> Result<OffsetDateTime, KeyError> {
    let year = t.year() + years;
    t.replace_year(year)
        .or_else(|_| t.replace_day(28).and_then(|d| d.replace_year(year)))
        .map_err(|_| KeyError::Corrupt(format!("date out of range: {t} + {years} years")))
}

fn dsc_file(serial: u64) -> String {
    format!("dsc-{serial}.pem")
}

fn dsc_key_file(serial: u64) -> String {
    format!("dsc-{serial}.key.pem")
}

/// The serial in a `dsc-<n>.pem` file name (not `dsc.pem`, not key files).
fn dsc_serial(name: &str) -> Option<u64> {
    let digits = name.strip_prefix("dsc-")?.strip_suffix(".pem")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|&n| n > 0)
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KeyError + '_ {
    move |source| KeyError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn read_cert(path: &Path) -> Result<Cert, KeyError> {
    let bytes = read(path)?;
    let der = x509_parser::pem::Pem::iter_from_buffer(&bytes)
        .next()
        .and_then(Result::ok)
        .filter(|p| p.label == "CERTIFICATE")
        .map(|p| p.contents)
        .ok_or_else(|| KeyError::Corrupt(format!("{}: not a PEM certificate", path.display())))?;
    Ok(Cert::from_der(der))
}

/// Reads a PKCS#8 `PRIVATE KEY` PEM file for `alg` (the one reader of private key files).
pub(crate) fn read_key(path: &Path, alg: Alg) -> Result<SignerKey, KeyError> {
    let bytes = read(path)?;
    let der = x509_parser::pem::Pem::iter_from_buffer(&bytes)
        .next()
        .and_then(Result::ok)
        .filter(|p| p.label == "PRIVATE KEY")
        .map(|p| p.contents)
        .ok_or_else(|| KeyError::Corrupt(format!("{}: not a PKCS#8 PEM key", path.display())))?;
    SignerKey::from_pkcs8(alg, der)
        .map_err(|e| KeyError::Corrupt(format!("{}: {e} ({})", path.display(), alg.name())))
}

fn read(path: &Path) -> Result<Vec<u8>, KeyError> {
    std::fs::read(path).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => KeyError::Missing(path.to_path_buf()),
        _ => KeyError::Io {
            path: path.to_path_buf(),
            source,
        },
    })
}

fn key_pem(key: &SignerKey) -> String {
    super::pem_encode("PRIVATE KEY", key.pkcs8_der())
}

/// A new private key file: `create_new`, mode 0600.
fn write_key(path: &Path, key: &SignerKey) -> Result<(), KeyError> {
    super::dev::write_private(path, &key_pem(key)).map_err(|source| match source.kind() {
        std::io::ErrorKind::AlreadyExists => KeyError::Exists(path.to_path_buf()),
        _ => KeyError::Io {
            path: path.to_path_buf(),
            source,
        },
    })
}

/// Atomically replaces a private key copy (a fresh 0600 file renamed over the old one).
fn replace_key(path: &Path, key: &SignerKey) -> Result<(), KeyError> {
    let tmp = tmp_path(path);
    remove_if_present(&tmp)?;
    write_key(&tmp, key)?;
    std::fs::rename(&tmp, path).map_err(io(path))
}

/// Writes a public file atomically.
fn write_atomic(path: &Path, text: &str) -> Result<(), KeyError> {
    crate::util::write_atomic(path, text.as_bytes()).map_err(io(path))
}

fn publish_file(dir: &Path, name: &str, text: &str) -> Result<(), KeyError> {
    let path = dir.join(name);
    if std::fs::read(&path).ok().as_deref() == Some(text.as_bytes()) {
        return Ok(());
    }
    write_atomic(&path, text)
}

/// `.<name>.tmp-<pid>` next to `path` (not ending in `.pem`, so never read as a certificate).
fn tmp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

fn remove_if_present(path: &Path) -> Result<(), KeyError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(KeyError::Io {
            path: path.to_path_buf(),
            source: e,
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-03-01 12:00 UTC);

    fn dirs(name: &str) -> (PathBuf, PathBuf) {
        let root =
            std::env::temp_dir().join(format!("dccgw-keystore-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        (root.join("data"), root.join("trust-lists/VN"))
    }

    fn cleanup(data: &Path) {
        if let Some(root) = data.parent() {
            let _ = std::fs::remove_dir_all(root);
        }
    }

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn init_writes_the_layout_with_private_keys_0600_and_chains_to_the_csca() {
        let (data, publish) = dirs("init");
        let set = KeySet::init(&data, &publish, Alg::Ps256, NOW).unwrap();
        let keys = data.join("keys");
        assert_eq!(
            names(&keys),
            [
                "csca.key.pem",
                "csca.pem",
                "dsc-1.key.pem",
                "dsc-1.pem",
                "dsc.key.pem",
                "dsc.pem",
                "list-signer.key.pem",
                "list-signer.pem",
                "upload.key.pem",
                "upload.pem",
            ]
        );
        #[cfg(unix)]
        for name in names(&keys).iter().filter(|n| n.ends_with(".key.pem")) {
            assert_eq!(mode(&keys.join(name)), 0o600, "{name}");
        }
        assert_eq!(
            names(&publish),
            ["csca.pem", "dsc", "list-signer.pem", "upload.pem"]
        );
        assert_eq!(
            names(&publish.join("dsc")),
            ["dsc-1.pem"],
            "only DSCs in dsc/"
        );

        // Algorithms: the CSCA, UPLOAD and DSC follow --alg; the list signer is always P-256.
        assert_eq!(set.csca.alg().unwrap(), Alg::Ps256);
        assert_eq!(set.upload.alg().unwrap(), Alg::Ps256);
        assert_eq!(set.upload_key.alg, Alg::Ps256);
        assert_eq!(set.list_signer.alg().unwrap(), Alg::Es256);
        assert_eq!(set.list_key.alg, Alg::Es256);
        let dsc = set.current_entry().unwrap();
        assert_eq!((set.current, dsc.serial), (1, 1));
        assert_eq!(dsc.cert.alg().unwrap(), Alg::Ps256);

        // Everything chains to the self-signed CSCA.
        assert!(issued_by(&set.csca.der, &set.csca.der));
        for cert in [&set.upload, &set.list_signer, &dsc.cert] {
            assert!(issued_by(&cert.der, &set.csca.der));
        }
        let parsed = Dsc::from_der(&dsc.cert.der, "VN").unwrap();
        assert_eq!(parsed.country.as_deref(), Some("VN"));
        // The usage comes from the three DCC EKU OIDs (none missing, so nothing is restricted).
        assert_eq!(parsed.usage, crate::trust::model::KeyUsage::ALL);
        let (_, cert) = x509_parser::parse_x509_certificate(&dsc.cert.der).unwrap();
        let eku = cert.extended_key_usage().unwrap().unwrap().value;
        let oids: Vec<String> = eku.other.iter().map(|o| o.to_id_string()).collect();
        assert_eq!(
            oids,
            [
                "1.3.6.1.4.1.1847.2021.1.1",
                "1.3.6.1.4.1.1847.2021.1.2",
                "1.3.6.1.4.1.1847.2021.1.3"
            ]
        );
        // AKI of the DSC = SKI of the CSCA (hcert spec §5).
        let (_, csca) = x509_parser::parse_x509_certificate(&set.csca.der).unwrap();
        let ski = csca
            .extensions()
            .iter()
            .find_map(|e| match e.parsed_extension() {
                x509_parser::extensions::ParsedExtension::SubjectKeyIdentifier(k) => Some(k.0),
                _ => None,
            })
            .unwrap();
        let aki = cert
            .extensions()
            .iter()
            .find_map(|e| match e.parsed_extension() {
                x509_parser::extensions::ParsedExtension::AuthorityKeyIdentifier(a) => {
                    a.key_identifier.as_ref().map(|k| k.0)
                }
                _ => None,
            })
            .unwrap();
        assert_eq!(aki, ski);
        // 2 years, longer than the 12-month certificates it signs; CSCA 10 years.
        assert_eq!(dsc.not_after, datetime!(2028-03-01 12:00 UTC));
        assert!(dsc.not_after - NOW > DCC_VALIDITY);
        assert_eq!(
            csca.validity().not_after.to_datetime(),
            datetime!(2036-03-01 12:00 UTC)
        );
        assert!(
            csca.subject().to_string().contains("CN=VN CSCA")
                && csca.subject().to_string().contains("O=Ministry of Health")
                && csca.subject().to_string().contains("C=VN"),
            "{}",
            csca.subject()
        );

        // The current key signs for the current DSC, and `issue` finds the same pair.
        let key = set.current_key().unwrap();
        assert_eq!(key.alg, Alg::Ps256);
        let (signer, issue_key) = super::super::issue::load_signer(&data).unwrap();
        assert_eq!(signer.kid, dsc.cert.kid());
        assert_eq!(issue_key.pkcs8_der(), key.pkcs8_der());
        cleanup(&data);
    }

    #[test]
    fn init_twice_is_refused_and_keeps_the_keys() {
        let (data, publish) = dirs("twice");
        let first = KeySet::init(&data, &publish, Alg::Es256, NOW).unwrap();
        let err = KeySet::init(&data, &publish, Alg::Es256, NOW).unwrap_err();
        assert!(
            matches!(err, KeyError::Exists(ref p) if p.ends_with("keys/csca.pem")),
            "{err}"
        );
        let again = KeySet::load(&data).unwrap();
        assert_eq!(again.csca, first.csca);
        assert_eq!(again.dscs, first.dscs);
        cleanup(&data);
    }

    #[test]
    fn load_round_trips_and_reports_missing() {
        let (data, publish) = dirs("load");
        assert!(matches!(KeySet::load(&data), Err(KeyError::Missing(_))));
        let set = KeySet::init(&data, &publish, Alg::Es256, NOW).unwrap();
        let loaded = KeySet::load(&data).unwrap();
        assert_eq!(loaded.dir, data.join("keys"));
        assert_eq!(loaded.csca, set.csca);
        assert_eq!(loaded.upload, set.upload);
        assert_eq!(loaded.list_signer, set.list_signer);
        assert_eq!(loaded.dscs, set.dscs);
        assert_eq!(loaded.current, set.current);
        assert_eq!(loaded.upload_key.pkcs8_der(), set.upload_key.pkcs8_der());
        assert_eq!(loaded.list_key.pkcs8_der(), set.list_key.pkcs8_der());
        assert_eq!(
            loaded.current_key().unwrap().pkcs8_der(),
            set.current_key().unwrap().pkcs8_der()
        );
        cleanup(&data);
    }

    #[test]
    fn rotate_keeps_the_old_dsc_published_until_it_expires() {
        let (data, publish) = dirs("rotate");
        let mut set = KeySet::init(&data, &publish, Alg::Es256, NOW).unwrap();
        let first = set.current_entry().unwrap().clone();
        let later = NOW + Duration::days(200);
        assert_eq!(set.rotate(&publish, later).unwrap(), 2);
        assert_eq!(set.current, 2);
        let second = set.current_entry().unwrap().clone();
        assert_ne!(second.cert.kid(), first.cert.kid());
        assert_eq!(second.cert.alg().unwrap(), Alg::Es256);
        assert!(issued_by(&second.cert.der, &set.csca.der));
        assert_eq!(
            names(&publish.join("dsc")),
            ["dsc-1.pem", "dsc-2.pem"],
            "the old DSC stays published"
        );
        assert_eq!(set.published_dscs(later).len(), 2);
        // dsc.pem / dsc.key.pem now hold DSC 2; `issue` follows.
        let (signer, _) = super::super::issue::load_signer(&data).unwrap();
        assert_eq!(signer.kid, second.cert.kid());
        #[cfg(unix)]
        assert_eq!(mode(&data.join("keys/dsc.key.pem")), 0o600);
        let loaded = KeySet::load(&data).unwrap();
        assert_eq!((loaded.current, loaded.dscs.len()), (2, 2));

        // After DSC 1 expired, the next rotation drops its public copy (the key stays).
        let far = first.not_after + Duration::days(1);
        assert_eq!(
            set.published_dscs(far)
                .iter()
                .map(|d| d.serial)
                .collect::<Vec<_>>(),
            [2]
        );
        assert_eq!(set.rotate(&publish, far).unwrap(), 3);
        assert_eq!(names(&publish.join("dsc")), ["dsc-2.pem", "dsc-3.pem"]);
        assert!(data.join("keys/dsc-1.key.pem").exists());
        assert!(data.join("keys/dsc-1.pem").exists());
        // The new DSC never outlives the CSCA.
        let csca_until = set.csca.validity().unwrap().1;
        assert!(set.current_entry().unwrap().not_after <= csca_until);
        cleanup(&data);
    }

    #[test]
    fn rotate_with_ps256_and_refusal_near_csca_expiry() {
        let (data, publish) = dirs("rotate-ps");
        let mut set = KeySet::init(&data, &publish, Alg::Ps256, NOW).unwrap();
        assert_eq!(set.rotate(&publish, NOW + Duration::days(1)).unwrap(), 2);
        assert_eq!(set.current_entry().unwrap().cert.alg().unwrap(), Alg::Ps256);
        assert!(issued_by(
            &set.current_entry().unwrap().cert.der,
            &set.csca.der
        ));
        let (_, csca_until) = set.csca.validity().unwrap();
        let err = set
            .rotate(&publish, csca_until - Duration::days(100))
            .unwrap_err();
        assert!(matches!(err, KeyError::CscaExpiring(_)), "{err}");
        assert_eq!(set.current, 2);
        cleanup(&data);
    }

    #[test]
    fn publish_removes_stale_dsc_files_only() {
        let (data, publish) = dirs("stale");
        let set = KeySet::init(&data, &publish, Alg::Es256, NOW).unwrap();
        std::fs::write(publish.join("dsc/dsc-9.pem"), &set.csca.pem).unwrap();
        std::fs::write(publish.join("dsc/README.md"), "notes").unwrap();
        set.publish(&publish, NOW).unwrap();
        assert_eq!(names(&publish.join("dsc")), ["README.md", "dsc-1.pem"]);
        cleanup(&data);
    }

    #[test]
    fn dsc_file_names() {
        assert_eq!(dsc_serial("dsc-1.pem"), Some(1));
        assert_eq!(dsc_serial("dsc-42.pem"), Some(42));
        assert_eq!(dsc_serial("dsc.pem"), None);
        assert_eq!(dsc_serial("dsc-1.key.pem"), None);
        assert_eq!(dsc_serial("dsc-0.pem"), None);
        assert_eq!(dsc_serial("dsc-.pem"), None);
        assert_eq!(dsc_serial("dsc-+1.pem"), None);
    }
}
