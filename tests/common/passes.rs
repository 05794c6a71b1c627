//! Non-EU health passes signed in the test: NZ COVID Passes and SMART Health Cards with their
//! issuer documents (a DID document, a JWKS), built from the public specifications.

use std::io::Write;

use coset::cbor::value::Value;
use coset::{CoseSign1Builder, HeaderBuilder, TaggedCborSerializable, iana};
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use serde_json::{Value as Json, json};

/// A P-256 issuer key.
pub struct IssuerKey {
    pair: EcdsaKeyPair,
}

impl IssuerKey {
    pub fn generate() -> IssuerKey {
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .unwrap();
        IssuerKey { pair }
    }

    /// Raw r‖s.
    pub fn sign(&self, msg: &[u8]) -> Vec<u8> {
        let rng = ring::rand::SystemRandom::new();
        self.pair.sign(&rng, msg).unwrap().as_ref().to_vec()
    }

    /// The public JWK (EC P-256).
    pub fn jwk(&self) -> Json {
        let point = self.pair.public_key().as_ref();
        let b64 = |b: &[u8]| data_encoding::BASE64URL_NOPAD.encode(b);
        json!({"kty": "EC", "crv": "P-256", "x": b64(&point[1..33]), "y": b64(&point[33..65])})
    }

    /// RFC 7638 thumbprint of the public JWK.
    pub fn thumbprint(&self) -> String {
        let j = self.jwk();
        let canonical = format!(
            r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
            j["x"].as_str().unwrap(),
            j["y"].as_str().unwrap()
        );
        let d = ring::digest::digest(&ring::digest::SHA256, canonical.as_bytes());
        data_encoding::BASE64URL_NOPAD.encode(d.as_ref())
    }
}

pub const NZ_DID: &str = "did:web:nzcp.test.example";

/// An NZCP issuer DID document listing `keys` (kid, key) in `assertionMethod`.
pub fn did_document(did: &str, keys: &[(&str, &IssuerKey)]) -> Json {
    let methods: Vec<Json> = keys
        .iter()
        .map(|(kid, k)| {
            json!({"id": format!("{did}#{kid}"), "controller": did, "type": "JsonWebKey2020",
                   "publicKeyJwk": k.jwk()})
        })
        .collect();
    let assertion: Vec<Json> = keys
        .iter()
        .map(|(kid, _)| json!(format!("{did}#{kid}")))
        .collect();
    json!({
        "@context": ["https://w3.org/ns/did/v1", "https://w3id.org/security/suites/jws-2020/v1"],
        "id": did,
        "verificationMethod": methods,
        "assertionMethod": assertion,
    })
}

/// What goes into an NZ COVID Pass.
pub struct Nzcp<'a> {
    pub iss: &'a str,
    pub kid: &'a str,
    pub nbf: i64,
    pub exp: i64,
    pub given: &'a str,
    pub family: Option<&'a str>,
    pub dob: &'a str,
    pub types: Vec<&'a str>,
    pub version: &'a str,
    /// Put `alg` in the unprotected header instead (refused).
    pub alg_unprotected: bool,
}

impl<'a> Nzcp<'a> {
    pub fn new(kid: &'a str) -> Nzcp<'a> {
        let now = dcc_gateway::clock::now().unix_timestamp();
        Nzcp {
            iss: NZ_DID,
            kid,
            nbf: now - 86_400,
            exp: now + 86_400 * 365,
            given: "Jack",
            family: Some("Sparrow"),
            dob: "1960-04-16",
            types: vec!["VerifiableCredential", "PublicCovidPass"],
            version: "1.0.0",
            alg_unprotected: false,
        }
    }

    /// The `NZCP:/1/…` text signed by `key`.
    pub fn sign(&self, key: &IssuerKey) -> String {
        let t = |s: &str| Value::Text(s.to_owned());
        let mut subject = vec![(t("givenName"), t(self.given)), (t("dob"), t(self.dob))];
        if let Some(f) = self.family {
            subject.push((t("familyName"), t(f)));
        }
        let vc = Value::Map(vec![
            (
                t("@context"),
                Value::Array(vec![
                    t("https://www.w3.org/2018/credentials/v1"),
                    t("https://nzcp.covid19.health.nz/contexts/v1"),
                ]),
            ),
            (t("version"), t(self.version)),
            (
                t("type"),
                Value::Array(self.types.iter().map(|s| t(s)).collect()),
            ),
            (t("credentialSubject"), Value::Map(subject)),
        ]);
        let claims = Value::Map(vec![
            (Value::Integer(1.into()), t(self.iss)),
            (Value::Integer(5.into()), Value::Integer(self.nbf.into())),
            (Value::Integer(4.into()), Value::Integer(self.exp.into())),
            (Value::Integer(7.into()), Value::Bytes(vec![0x60; 16])),
            (t("vc"), vc),
        ]);
        let mut payload = Vec::new();
        coset::cbor::ser::into_writer(&claims, &mut payload).unwrap();
        let mut protected = HeaderBuilder::new().key_id(self.kid.as_bytes().to_vec());
        let mut unprotected = HeaderBuilder::new();
        if self.alg_unprotected {
            unprotected = unprotected.algorithm(iana::Algorithm::ES256);
        } else {
            protected = protected.algorithm(iana::Algorithm::ES256);
        }
        let sign1 = CoseSign1Builder::new()
            .protected(protected.build())
            .unprotected(unprotected.build())
            .payload(payload)
            .create_signature(&[], |tbs| key.sign(tbs))
            .build();
        let bytes = sign1.to_tagged_vec().unwrap();
        format!("NZCP:/1/{}", data_encoding::BASE32_NOPAD.encode(&bytes))
    }
}

pub const SHC_ISS: &str = "https://shc.test.example/creds";

/// A JWKS of `keys` with their thumbprints as kids.
pub fn jwks(keys: &[&IssuerKey]) -> Json {
    let list: Vec<Json> = keys
        .iter()
        .map(|k| {
            let mut j = k.jwk();
            j["kid"] = json!(k.thumbprint());
            j["use"] = json!("sig");
            j["alg"] = json!("ES256");
            j
        })
        .collect();
    json!({ "keys": list })
}

/// A SMART Health Card payload for `iss` with two COVID-19 doses (CVX 207).
pub fn shc_payload(iss: &str, nbf: f64, exp: Option<f64>) -> Json {
    let mut p = json!({
        "iss": iss,
        "nbf": nbf,
        "vc": {
            "type": ["https://smarthealth.cards#health-card", "https://smarthealth.cards#immunization", "https://smarthealth.cards#covid19"],
            "credentialSubject": {
                "fhirVersion": "4.0.1",
                "fhirBundle": {
                    "resourceType": "Bundle",
                    "type": "collection",
                    "entry": [
                        {"fullUrl": "resource:0", "resource": {"resourceType": "Patient",
                            "name": [{"family": "Anyperson", "given": ["John", "B."]}], "birthDate": "1951-01-20"}},
                        {"fullUrl": "resource:1", "resource": {"resourceType": "Immunization", "status": "completed",
                            "vaccineCode": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": "207"}]},
                            "patient": {"reference": "resource:0"}, "occurrenceDateTime": "2021-01-01",
                            "performer": [{"actor": {"display": "ABC General Hospital"}}], "lotNumber": "0000001"}},
                        {"fullUrl": "resource:2", "resource": {"resourceType": "Immunization", "status": "completed",
                            "vaccineCode": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": "207"}]},
                            "patient": {"reference": "resource:0"}, "occurrenceDateTime": "2021-01-29",
                            "performer": [{"actor": {"display": "ABC General Hospital"}}], "lotNumber": "0000007"}}
                    ]
                }
            }
        }
    });
    if let Some(e) = exp {
        p["exp"] = json!(e);
    }
    p
}

/// A compact JWS over the raw-DEFLATE'd `payload` (header `zip` DEF unless `zip` is false).
pub fn shc_jws(payload: &[u8], key: &IssuerKey, kid: &str, zip: bool) -> String {
    let b64 = |b: &[u8]| data_encoding::BASE64URL_NOPAD.encode(b);
    let header = if zip {
        json!({"zip": "DEF", "alg": "ES256", "kid": kid})
    } else {
        json!({"alg": "ES256", "kid": kid})
    };
    let mut deflater =
        flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    deflater.write_all(payload).unwrap();
    let body = deflater.finish().unwrap();
    let signing_input = format!("{}.{}", b64(header.to_string().as_bytes()), b64(&body));
    let sig = key.sign(signing_input.as_bytes());
    format!("{signing_input}.{}", b64(&sig))
}

/// `shc:/` numeric form of a JWS.
pub fn shc_qr(jws: &str) -> String {
    let digits: String = jws.bytes().map(|c| format!("{:02}", c - 45)).collect();
    format!("shc:/{digits}")
}

/// A valid card of `key` for `iss`, valid from yesterday, no `exp`.
pub fn shc_card(iss: &str, key: &IssuerKey) -> String {
    let nbf = (dcc_gateway::clock::now().unix_timestamp() - 86_400) as f64;
    let payload = shc_payload(iss, nbf, None).to_string();
    shc_qr(&shc_jws(payload.as_bytes(), key, &key.thumbprint(), true))
}

/// An ICAO issuing state's CSCA and a barcode signer certificate (BSC) under it.
pub struct IcaoSigner {
    pub csca_pem: String,
    pub bsc_der: Vec<u8>,
    key: EcdsaKeyPair,
    ca: rcgen::Issuer<'static, rcgen::KeyPair>,
}

impl IcaoSigner {
    /// A CSCA and a BSC valid from yesterday for `bsc_days` days.
    pub fn new(bsc_days: i64) -> IcaoSigner {
        use rcgen::{
            BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
        };
        let now = dcc_gateway::clock::now();
        let ca_key = KeyPair::generate().unwrap();
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        ca.distinguished_name.push(DnType::CountryName, "AU");
        ca.distinguished_name.push(DnType::CommonName, "Test CSCA");
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        let bsc_key = KeyPair::generate().unwrap();
        let mut bsc = CertificateParams::new(Vec::<String>::new()).unwrap();
        bsc.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        bsc.distinguished_name.push(DnType::CountryName, "AU");
        bsc.distinguished_name.push(DnType::CommonName, "Test BSC");
        bsc.not_before = now - time::Duration::days(1);
        bsc.not_after = now + time::Duration::days(bsc_days);
        let issuer = Issuer::new(ca, ca_key);
        let bsc_cert = bsc.signed_by(&bsc_key, &issuer).unwrap();
        let rng = ring::rand::SystemRandom::new();
        let key = EcdsaKeyPair::from_pkcs8(
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            &bsc_key.serialize_der(),
            &rng,
        )
        .unwrap();
        IcaoSigner {
            csca_pem: ca_cert.pem(),
            bsc_der: bsc_cert.der().to_vec(),
            key,
            ca: issuer,
        }
    }

    /// The BSC's serial number (DER content bytes).
    pub fn bsc_serial(&self) -> Vec<u8> {
        use x509_parser::prelude::FromDer;
        let (_, cert) = x509_parser::certificate::X509Certificate::from_der(&self.bsc_der).unwrap();
        cert.tbs_certificate.raw_serial().to_vec()
    }

    /// A CRL of the CSCA (PEM) revoking `serials`, with the given nextUpdate.
    pub fn crl(&self, serials: &[Vec<u8>], next_update: time::OffsetDateTime) -> String {
        use rcgen::{
            CertificateRevocationListParams, KeyIdMethod, RevokedCertParams, SerialNumber,
        };
        let now = dcc_gateway::clock::now();
        let params = CertificateRevocationListParams {
            this_update: now - time::Duration::hours(1),
            next_update,
            crl_number: SerialNumber::from(1u64),
            issuing_distribution_point: None,
            revoked_certs: serials
                .iter()
                .map(|s| RevokedCertParams {
                    serial_number: SerialNumber::from(s.clone()),
                    revocation_time: now - time::Duration::hours(2),
                    reason_code: None,
                    invalidity_date: None,
                })
                .collect(),
            key_identifier_method: KeyIdMethod::Sha256,
        };
        params.signed_by(&self.ca).unwrap().pem().unwrap()
    }

    /// A VDS-NC over `data` (its keys in sorted order, no floats: `serde_json`'s output is
    /// then the RFC 8785 form, independently of the gateway's canonicaliser).
    pub fn seal(&self, data: &Json) -> String {
        let rng = ring::rand::SystemRandom::new();
        let canonical = serde_json::to_string(data).unwrap();
        let sig = self.key.sign(&rng, canonical.as_bytes()).unwrap();
        let b64 = |b: &[u8]| data_encoding::BASE64URL_NOPAD.encode(b);
        json!({"data": data, "sig": {"alg": "ES256", "cer": b64(&self.bsc_der), "sigvl": b64(sig.as_ref())}})
            .to_string()
    }
}

/// The `data` of an Australian-style proof of vaccination.
pub fn vds_vacc_data(state: &str) -> Json {
    json!({
        "hdr": {"is": state, "t": "icao.vacc", "v": 1},
        "msg": {
            "pid": {"dob": "1961-05-15", "i": "PA0941262", "n": "CITIZEN  JANE SUE", "sex": "F"},
            "uvci": "VB0009990012",
            "ve": [{"des": "XM68M6", "dis": "RA01.0", "nam": "AstraZeneca Vaxzevria",
                    "vd": [{"adm": "General Practitioner", "ctr": "AUS", "dvc": "2021-09-15", "lot": "300157P", "seq": 1},
                           {"adm": "General Practitioner", "ctr": "AUS", "dvc": "2021-10-15", "lot": "300157P", "seq": 2}]}]
        }
    })
}

/// A one-member ZIP archive (`name`, DEFLATE), as DIVOC QR codes carry `certificate.json`.
pub fn zip_one(name: &str, content: &[u8]) -> Vec<u8> {
    zip_member(name, content, true)
}

/// A one-member ZIP archive, DEFLATE or stored (method 0).
pub fn zip_member(name: &str, content: &[u8], deflate: bool) -> Vec<u8> {
    let data = if deflate {
        let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        z.write_all(content).unwrap();
        z.finish().unwrap()
    } else {
        content.to_vec()
    };
    let mut crc = flate2::Crc::new();
    crc.update(content);
    let method: u16 = if deflate { 8 } else { 0 };
    let fields = |out: &mut Vec<u8>| {
        out.extend_from_slice(&20u16.to_le_bytes()); // version needed
        out.extend_from_slice(&0u16.to_le_bytes()); // flags
        out.extend_from_slice(&method.to_le_bytes());
        out.extend_from_slice(&[0; 4]); // time, date
        out.extend_from_slice(&crc.sum().to_le_bytes());
        out.extend_from_slice(&u32::try_from(data.len()).unwrap().to_le_bytes());
        out.extend_from_slice(&u32::try_from(content.len()).unwrap().to_le_bytes());
        out.extend_from_slice(&u16::try_from(name.len()).unwrap().to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes()); // extra length
    };
    let mut out = b"PK\x03\x04".to_vec();
    fields(&mut out);
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(&data);
    let cd = out.len();
    out.extend_from_slice(b"PK\x01\x02");
    out.extend_from_slice(&20u16.to_le_bytes()); // version made by
    fields(&mut out);
    out.extend_from_slice(&[0; 10]); // comment length, disk, internal and external attributes
    out.extend_from_slice(&0u32.to_le_bytes()); // local header offset
    out.extend_from_slice(name.as_bytes());
    let cd_size = out.len() - cd;
    out.extend_from_slice(b"PK\x05\x06");
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&u32::try_from(cd_size).unwrap().to_le_bytes());
    out.extend_from_slice(&u32::try_from(cd).unwrap().to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

/// The `B64:` QR text of a DIVOC credential.
pub fn divoc_qr(credential: &Json) -> String {
    let zip = zip_one("certificate.json", credential.to_string().as_bytes());
    format!("B64:{}", data_encoding::BASE64.encode(&zip))
}

/// The raw-ZIP QR text (byte mode: one character per byte) of a DIVOC credential.
pub fn divoc_raw_qr(credential: &Json) -> String {
    zip_one("certificate.json", credential.to_string().as_bytes())
        .into_iter()
        .map(char::from)
        .collect()
}

/// A DIVOC-shaped vaccination credential (India's layout), unsigned.
pub fn divoc_credential(method: &str, issued: &str) -> Json {
    json!({
        "@context": ["https://www.w3.org/2018/credentials/v1",
                     "https://cowin.gov.in/credentials/vaccination/v1"],
        "type": ["VerifiableCredential", "ProofOfVaccinationCredential"],
        "credentialSubject": {
            "type": "Person", "id": "did:Passport:VN0001", "refId": "1234",
            "name": "Phạm Thu Hà", "gender": "Female", "age": "41", "nationality": "Vietnamese"
        },
        "issuer": "https://cowin.gov.in/",
        "issuanceDate": issued,
        "evidence": [{
            "id": "https://cowin.gov.in/vaccine/1001", "certificateId": "1001",
            "type": ["Vaccination"], "batch": "B-1", "vaccine": "COVISHIELD",
            "manufacturer": "Serum Institute of India", "date": "2021-05-01T09:00:00.000Z",
            "effectiveStart": "2021-05-01", "effectiveUntil": "2021-05-01",
            "dose": 2, "totalDoses": 2, "verifier": {"name": "Vaccinator"},
            "facility": {"name": "Centre", "address": {"addressCountry": "IN"}}
        }],
        "nonTransferable": "true",
        "proof": {"type": "Ed25519Signature2018", "created": "2021-05-01T10:00:00Z",
                  "verificationMethod": method, "proofPurpose": "assertionMethod"}
    })
}

/// A DIVOC signing key: Ed25519 generated here, or the bundled RSA test key (ring cannot
/// generate RSA keys).
pub enum DivocKey {
    Ed25519(ring::signature::Ed25519KeyPair),
    Rsa(ring::signature::RsaKeyPair),
}

impl DivocKey {
    pub fn ed25519() -> DivocKey {
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = ring::signature::Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        DivocKey::Ed25519(ring::signature::Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap())
    }

    pub fn rsa() -> DivocKey {
        use rustls_pki_types::pem::PemObject;
        let pem = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/divoc/rsa-priv.pem"
        ))
        .unwrap();
        let der = rustls_pki_types::PrivatePkcs8KeyDer::from_pem_slice(&pem).unwrap();
        DivocKey::Rsa(ring::signature::RsaKeyPair::from_pkcs8(der.secret_pkcs8_der()).unwrap())
    }

    /// The public key as a PEM SPKI file, as a `divoc-key` source holds it.
    pub fn public_pem(&self) -> String {
        match self {
            DivocKey::Ed25519(k) => {
                let mut der = vec![
                    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
                ];
                der.extend_from_slice(k.public_key().as_ref());
                format!(
                    "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
                    data_encoding::BASE64.encode(&der)
                )
            }
            DivocKey::Rsa(_) => std::fs::read_to_string(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/data/divoc/rsa-pub.pem"
            ))
            .unwrap(),
        }
    }

    /// Signs `credential` in place as jsonld-signatures does (proof options under
    /// security/v2, detached `b64:false` JWS), with the suite of this key.
    pub fn sign(&self, credential: &mut Json) {
        let (suite, alg) = match self {
            DivocKey::Ed25519(_) => ("Ed25519Signature2018", "EdDSA"),
            DivocKey::Rsa(_) => ("RsaSignature2018", "PS256"),
        };
        credential["proof"]["type"] = json!(suite);
        let doc = credential.as_object().unwrap().clone();
        let proof = doc["proof"].as_object().unwrap().clone();
        let (data, _) = dcc_gateway::ld::proof_verify_data(
            &doc,
            &proof,
            &json!("https://w3id.org/security/v2"),
        )
        .unwrap();
        let header = data_encoding::BASE64URL_NOPAD
            .encode(format!(r#"{{"alg":"{alg}","b64":false,"crit":["b64"]}}"#).as_bytes());
        let mut input = format!("{header}.").into_bytes();
        input.extend_from_slice(&data);
        let sig = match self {
            DivocKey::Ed25519(k) => k.sign(&input).as_ref().to_vec(),
            DivocKey::Rsa(k) => {
                let mut sig = vec![0; k.public().modulus_len()];
                k.sign(
                    &ring::signature::RSA_PSS_SHA256,
                    &ring::rand::SystemRandom::new(),
                    &input,
                    &mut sig,
                )
                .unwrap();
                sig
            }
        };
        credential["proof"]["jws"] = json!(format!(
            "{header}..{}",
            data_encoding::BASE64URL_NOPAD.encode(&sig)
        ));
    }
}
