//! DIVOC credentials: real codes from the field (WHO's DDCC validator's India, Indonesia and
//! Jamaica examples, with the keys those countries publish), credentials signed by an
//! independent JSON-LD processor (pyld), and credentials signed here; every refusal with its
//! code; the canonical forms checked against pyld's N-Quads.

use dcc_gateway::hcert::{Detail, ErrorCode, PassFormat, SignatureAlg, VerificationResult};
use dcc_gateway::passes;
use dcc_gateway::trust::formats::Format;
use dcc_gateway::trust::model::TrustSnapshot;
use serde_json::{Value as Json, json};
use time::macros::datetime;

use super::make_passes::*;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/divoc");

fn read(name: &str) -> String {
    std::fs::read_to_string(format!("{DATA}/{name}")).unwrap()
}

fn keys(method: &str, pem: &str) -> Vec<passes::PassKey> {
    let (keys, refused) =
        passes::ingest(Format::DivocKey, pem.as_bytes(), Some(method), "divoc").unwrap();
    assert!(refused.is_empty(), "{refused:?}");
    keys
}

fn snap(keys: Vec<passes::PassKey>) -> TrustSnapshot {
    TrustSnapshot::new(0, Vec::new()).with_pass_keys(keys)
}

fn check_at(qr: &str, snap: &TrustSnapshot, at: time::OffsetDateTime) -> VerificationResult {
    assert_eq!(passes::detect(qr), PassFormat::Divoc);
    passes::verify(PassFormat::Divoc, qr, snap, at, Detail::Minimal)
}

fn check(qr: &str, snap: &TrustSnapshot) -> VerificationResult {
    check_at(qr, snap, datetime!(2022-08-01 00:00 UTC))
}

#[test]
fn canonical_forms_match_an_independent_jsonld_processor() {
    for (vector, qr) in [
        ("india-DIVOCQR1", "india-sample.qr.txt"),
        ("indonesia", "indonesia-sample.qr.txt"),
        ("jamaica", "jamaica-sample.qr.txt"),
        ("signed-rsa", "signed-rsa.qr.txt"),
        ("signed-ed25519", "signed-ed25519.qr.txt"),
    ] {
        let doc = passes::divoc::unpack(read(qr).trim_end()).unwrap();
        let mut unsigned = doc.clone();
        unsigned.remove("proof");
        let ours = dcc_gateway::ld::canonical_nquads(&Json::Object(unsigned)).unwrap();
        assert_eq!(
            ours,
            read(&format!("vectors/{vector}.doc.nq")),
            "{vector}: document"
        );
        let proof = doc["proof"].as_object().unwrap();
        let (data, _) =
            dcc_gateway::ld::proof_verify_data(&doc, proof, &json!("https://w3id.org/security/v2"))
                .unwrap();
        assert_eq!(
            data_encoding::HEXLOWER.encode(&data),
            read(&format!("vectors/{vector}.verifydata.hex"))
                .lines()
                .filter(|l| !l.starts_with('#'))
                .collect::<String>(),
            "{vector}: verify data"
        );
    }
    // DIVOC's test-certificate context (no credential from the field here: pyld's N-Quads).
    let test: Json = serde_json::from_str(&read("test-certificate.json")).unwrap();
    assert_eq!(
        dcc_gateway::ld::canonical_nquads(&test).unwrap(),
        read("vectors/test-certificate.doc.nq")
    );
}

#[test]
fn real_codes_from_india_and_indonesia_verify_with_their_published_keys() {
    let india = snap(keys("did:india", &read("did-india.pem")));
    let r = check(read("india-sample.qr.txt").trim_end(), &india);
    assert!(r.valid, "{:?}", r.errors);
    assert_eq!(r.format, PassFormat::Divoc);
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    let c = r.certificate.as_ref().unwrap();
    assert_eq!(c.holder.name.as_deref(), Some("Third March User One"));
    assert_eq!(c.iss.as_deref(), Some("https://cowin.gov.in/"));
    assert_eq!(c.alg, SignatureAlg::Ps256);
    assert_eq!(c.kid, "did:india");
    assert_eq!(c.issued_at.as_deref(), Some("2021-03-03T04:28:46.012Z"));
    assert_eq!(c.vaccinations.len(), 1);
    assert_eq!(c.vaccinations[0].product.as_deref(), Some("COVISHIELD"));
    assert_eq!(
        (c.vaccinations[0].dose, c.vaccinations[0].doses),
        (Some(1), Some(2))
    );
    assert_eq!(
        r.provenance.dsc_source.as_deref(),
        Some("divoc"),
        "{:?}",
        r.provenance
    );

    let indonesia = snap(keys("did:indonesia", &read("did-indonesia.pem")));
    let r = check(read("indonesia-sample.qr.txt").trim_end(), &indonesia);
    assert!(r.valid, "{:?}", r.errors);
    let c = r.certificate.as_ref().unwrap();
    assert_eq!(c.alg, SignatureAlg::EdDsa);
    assert_eq!(
        c.holder.name.as_deref(),
        Some("PAULUS WISNU ADITYA BASWORO")
    );
    assert_eq!(c.holder.date_of_birth.as_deref(), Some("1988-05-15"));
    assert_eq!(
        c.vaccinations[0].product.as_deref(),
        Some("COVID-19 Vaccine Pfizer")
    );
    // Before the credential was issued it is not valid yet.
    let early = check_at(
        read("indonesia-sample.qr.txt").trim_end(),
        &indonesia,
        datetime!(2022-07-01 00:00 UTC),
    );
    assert_eq!(early.error_codes(), vec![ErrorCode::CwtNotYetValid]);
    // The other country's key does not verify it.
    let r = check(read("indonesia-sample.qr.txt").trim_end(), &india);
    assert_eq!(r.error_codes(), vec![ErrorCode::IssuerUntrusted]);
}

#[test]
fn jamaicas_code_names_the_wrong_key_and_its_holder_is_not_signed() {
    // Jamaica's example names did:india but was signed with Jamaica's key (WHO's validator
    // answers INVALID_SIGNATURE too).
    let india = snap(keys("did:india", &read("did-india.pem")));
    let qr = read("jamaica-sample.qr.txt");
    let r = check(qr.trim_end(), &india);
    assert_eq!(r.error_codes(), vec![ErrorCode::SignatureInvalid]);
    assert!(r.certificate.is_none());
    // Trusting Jamaica's key under that name, the signature verifies, but the subject's
    // `"id": ""` drops it out of the signed data: its name and birth date are not shown.
    let misfiled = snap(keys("did:india", &read("did-jamaica.pem")));
    let r = check(qr.trim_end(), &misfiled);
    assert!(r.valid, "{:?}", r.errors);
    let c = r.certificate.as_ref().unwrap();
    assert_eq!(c.holder.name, None);
    assert_eq!(c.holder.date_of_birth, None);
    assert!(
        r.warnings
            .iter()
            .any(|w| w.code == ErrorCode::CredentialInvalid && w.message.contains("name")),
        "{:?}",
        r.warnings
    );
    assert_eq!(c.vaccinations[0].product.as_deref(), Some("Pfizer"));
}

#[test]
fn credentials_signed_by_an_independent_processor_verify() {
    for (qr, pem, method, alg) in [
        (
            "signed-rsa.qr.txt",
            "rsa-pub.pem",
            "did:test:divoc-rsa",
            SignatureAlg::Ps256,
        ),
        (
            "signed-ed25519.qr.txt",
            "ed25519-pub.pem",
            "did:test:divoc-ed25519",
            SignatureAlg::EdDsa,
        ),
    ] {
        let r = check(&read(qr), &snap(keys(method, &read(pem))));
        assert!(r.valid, "{qr}: {:?}", r.errors);
        assert_eq!(r.certificate.as_ref().unwrap().alg, alg);
    }
}

#[test]
fn credentials_signed_here_verify_in_both_framings_and_with_both_suites() {
    for key in [DivocKey::ed25519(), DivocKey::rsa()] {
        let method = "did:test:vn";
        let s = snap(keys(method, &key.public_pem()));
        let mut cred = divoc_credential(method, "2021-05-01T10:00:00.000Z");
        key.sign(&mut cred);
        for qr in [divoc_qr(&cred), divoc_raw_qr(&cred)] {
            let r = check(&qr, &s);
            assert!(r.valid, "{:?}", r.errors);
            let c = r.certificate.as_ref().unwrap();
            assert_eq!(c.holder.name.as_deref(), Some("Phạm Thu Hà"));
            assert_eq!(c.vaccinations[0].dose, Some(2));
            assert!(c.expires_at.is_none());
        }
    }
}

#[test]
fn refusals_carry_their_codes() {
    let key = DivocKey::ed25519();
    let method = "did:test:vn";
    let s = snap(keys(method, &key.public_pem()));
    let signed = |edit: &dyn Fn(&mut Json)| {
        let mut cred = divoc_credential(method, "2021-05-01T10:00:00.000Z");
        edit(&mut cred);
        key.sign(&mut cred);
        cred
    };
    let codes = |cred: &Json| check(&divoc_qr(cred), &s).error_codes();

    // Changed after signing: the holder's name, a dose, the issuance date.
    for tamper in [
        &(|c: &mut Json| c["credentialSubject"]["name"] = json!("Someone Else"))
            as &dyn Fn(&mut Json),
        &|c: &mut Json| c["evidence"][0]["vaccine"] = json!("COVAXIN"),
        &|c: &mut Json| c["issuanceDate"] = json!("2021-05-02T10:00:00.000Z"),
    ] {
        let mut cred = signed(&|_| {});
        tamper(&mut cred);
        assert_eq!(codes(&cred), vec![ErrorCode::SignatureInvalid]);
    }
    // Expired, not yet valid.
    let expired = signed(&|c| c["expirationDate"] = json!("2022-01-01T00:00:00Z"));
    assert_eq!(codes(&expired), vec![ErrorCode::CwtExpired]);
    let future = signed(&|c| c["issuanceDate"] = json!("2030-01-01T00:00:00.000Z"));
    assert_eq!(codes(&future), vec![ErrorCode::CwtNotYetValid]);
    let later = signed(&|c| c["expirationDate"] = json!("2030-01-01T00:00:00Z"));
    let r = check(&divoc_qr(&later), &s);
    assert!(r.valid);
    assert_eq!(
        r.certificate.unwrap().expires_at.as_deref(),
        Some("2030-01-01T00:00:00Z")
    );
    // A context that is not bundled: never fetched.
    let mut unknown = signed(&|_| {});
    unknown["@context"][1] = json!("https://example.org/vaccination/v1");
    assert_eq!(codes(&unknown), vec![ErrorCode::CredentialInvalid]);
    // The proof: wrong purpose, unknown suite, alg not matching the suite, attached JWS.
    let purpose = signed(&|c| c["proof"]["proofPurpose"] = json!("authentication"));
    assert_eq!(codes(&purpose), vec![ErrorCode::CredentialInvalid]);
    let mut suite = signed(&|_| {});
    suite["proof"]["type"] = json!("JsonWebSignature2020");
    assert_eq!(codes(&suite), vec![ErrorCode::AlgUnsupported]);
    let mut alg = signed(&|_| {});
    alg["proof"]["type"] = json!("RsaSignature2018");
    assert_eq!(codes(&alg), vec![ErrorCode::AlgUnsupported]);
    let mut attached = signed(&|_| {});
    let jws = attached["proof"]["jws"]
        .as_str()
        .unwrap()
        .replace("..", ".e30.");
    attached["proof"]["jws"] = json!(jws);
    assert_eq!(codes(&attached), vec![ErrorCode::JwsInvalid]);
    let mut no_method = signed(&|_| {});
    no_method["proof"]
        .as_object_mut()
        .unwrap()
        .remove("verificationMethod");
    assert_eq!(codes(&no_method), vec![ErrorCode::KidMissing]);
    let other_method = signed(&|c| c["proof"]["verificationMethod"] = json!("did:other"));
    assert_eq!(codes(&other_method), vec![ErrorCode::IssuerUntrusted]);
    let mut no_proof = signed(&|_| {});
    no_proof.as_object_mut().unwrap().remove("proof");
    assert_eq!(codes(&no_proof), vec![ErrorCode::CredentialInvalid]);
    let not_vc = signed(&|c| c["type"] = json!(["ProofOfVaccinationCredential"]));
    assert_eq!(codes(&not_vc), vec![ErrorCode::CredentialInvalid]);

    // Framing: Base64, ZIP, size.
    let r = check("B64:not base64!", &s);
    assert_eq!(r.error_codes(), vec![ErrorCode::Base64Invalid]);
    let r = check("B64:UEsDBA==", &s);
    assert_eq!(r.error_codes(), vec![ErrorCode::DecompressFailed]);
    let wrong_member = format!(
        "B64:{}",
        data_encoding::BASE64.encode(&zip_one("other.json", b"{}"))
    );
    assert_eq!(
        check(&wrong_member, &s).error_codes(),
        vec![ErrorCode::CredentialInvalid]
    );
    let bomb = format!(
        "B64:{}",
        data_encoding::BASE64.encode(&zip_one("certificate.json", &vec![b' '; 1 << 20]))
    );
    assert_eq!(
        check(&bomb, &s).error_codes(),
        vec![ErrorCode::PayloadTooLarge]
    );
    let not_json = format!(
        "B64:{}",
        data_encoding::BASE64.encode(&zip_one("certificate.json", b"[1,2]"))
    );
    assert_eq!(
        check(&not_json, &s).error_codes(),
        vec![ErrorCode::CredentialInvalid]
    );
}

#[test]
fn only_what_the_signature_covers_is_shown() {
    let key = DivocKey::ed25519();
    let method = "did:test:vn";
    let s = snap(keys(method, &key.public_pem()));
    // Dose and total share one IRI: swapping them keeps the signature, so the verdict
    // reports the smaller as the dose and the larger as the total.
    let mut cred = divoc_credential(method, "2021-05-01T10:00:00.000Z");
    cred["evidence"][0]["dose"] = json!(1);
    key.sign(&mut cred);
    cred["evidence"][0]["dose"] = json!(2);
    cred["evidence"][0]["totalDoses"] = json!(1);
    let r = check(&divoc_qr(&cred), &s);
    assert!(r.valid, "{:?}", r.errors);
    let v = &r.certificate.as_ref().unwrap().vaccinations[0];
    assert_eq!((v.dose, v.doses), (Some(1), Some(2)));
    // A member no context defines is not signed and not shown; the verdict stands.
    let mut cred = divoc_credential(method, "2021-05-01T10:00:00.000Z");
    key.sign(&mut cred);
    cred["credentialSubject"]["nickname"] = json!("added later");
    assert!(check(&divoc_qr(&cred), &s).valid);
    // The holder's name swapped for the facility's (both schema:name, other nodes): the
    // signature fails, as the name is stated of another node.
    let mut cred = divoc_credential(method, "2021-05-01T10:00:00.000Z");
    key.sign(&mut cred);
    cred["credentialSubject"]["name"] = json!("Centre");
    assert_eq!(
        check(&divoc_qr(&cred), &s).error_codes(),
        vec![ErrorCode::SignatureInvalid]
    );
}

#[test]
fn divoc_key_sources_refuse_bad_keys_alone() {
    let rsa = read("did-india.pem");
    let ed = read("did-indonesia.pem");
    let ec = rcgen::KeyPair::generate().unwrap().public_key_pem();
    let private = read("ed25519-priv.pem");
    let bundle = format!(
        "{rsa}{ed}{ec}{private}-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"
    );
    let (keys, refused) =
        passes::ingest(Format::DivocKey, bundle.as_bytes(), Some("did:x"), "s").unwrap();
    assert_eq!(keys.len(), 2);
    assert!(keys[0].kid.starts_with("rsa:") && keys[1].kid.starts_with("ed25519:"));
    let codes: Vec<&str> = refused.iter().map(|(_, c)| *c).collect();
    assert_eq!(
        codes,
        vec!["KEY_UNSUPPORTED", "PRIVATE_KEY", "KEY_MALFORMED"]
    );
    assert!(passes::ingest(Format::DivocKey, b"nothing", Some("did:x"), "s").is_err());
    assert!(passes::ingest(Format::DivocKey, rsa.as_bytes(), None, "s").is_err());
}

#[test]
fn cli_verify_reads_divoc_keys() {
    let out = super::cli::bin()
        .args([
            "verify",
            "--json",
            "--at",
            "2022-01-01T00:00:00Z",
            "--divoc-key",
            &format!("did:india={DATA}/did-india.pem"),
            read("india-sample.qr.txt").trim_end(),
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = super::cli::json(&out);
    assert_eq!(v["format"], "divoc");
    assert_eq!(v["certificate"]["holder"]["name"], "Third March User One");
}

#[test]
fn the_zip_reader_takes_one_member_and_refuses_bombs_corruption_and_garbage() {
    use passes::zip::{ZipError, member};
    let a = zip_one("certificate.json", b"{\"a\":1}");
    assert_eq!(member(&a, "certificate.json", 100).unwrap(), b"{\"a\":1}");
    assert_eq!(member(&a, "other.json", 100), Err(ZipError::Missing));
    assert_eq!(member(&a, "certificate.json", 3), Err(ZipError::TooLarge));

    let mut bomb = zip_one("certificate.json", &vec![b'a'; 1 << 20]);
    assert_eq!(
        member(&bomb, "certificate.json", 4096),
        Err(ZipError::TooLarge)
    );
    // A central directory that lies about the size: the inflater still stops at the cap.
    let cd = bomb.windows(4).rposition(|w| w == b"PK\x01\x02").unwrap();
    bomb[cd + 24..cd + 28].copy_from_slice(&10u32.to_le_bytes());
    assert_eq!(
        member(&bomb, "certificate.json", 4096),
        Err(ZipError::TooLarge)
    );

    let mut corrupt = zip_one("certificate.json", b"hello world, hello world");
    let cd = corrupt
        .windows(4)
        .rposition(|w| w == b"PK\x01\x02")
        .unwrap();
    corrupt[cd + 16] ^= 1; // the CRC-32
    assert_eq!(
        member(&corrupt, "certificate.json", 100),
        Err(ZipError::Corrupt)
    );

    assert_eq!(member(b"", "x", 10), Err(ZipError::NotZip));
    assert_eq!(member(b"PK\x03\x04garbage", "x", 10), Err(ZipError::NotZip));
    for cut in 0..a.len() {
        assert!(member(&a[..cut], "certificate.json", 100).is_err());
    }
}

#[test]
fn a_credential_scanned_again_gets_the_same_verdict_and_still_every_check() {
    let key = DivocKey::ed25519();
    let method = "did:test:vn";
    let s = snap(keys(method, &key.public_pem()));
    let mut cred = divoc_credential(method, "2021-05-01T10:00:00.000Z");
    cred["expirationDate"] = json!("2023-01-01T00:00:00Z");
    key.sign(&mut cred);
    let qr = divoc_qr(&cred);
    let first = check(&qr, &s);
    assert!(first.valid, "{:?}", first.errors);
    // The remembered signed data changes nothing: same verdict, the time checks still run,
    // and a tampered copy (another credential) is still refused.
    assert_eq!(check(&qr, &s), first);
    let later = check_at(&qr, &s, datetime!(2024-01-01 00:00 UTC));
    assert_eq!(later.error_codes(), vec![ErrorCode::CwtExpired]);
    let mut tampered = cred.clone();
    tampered["credentialSubject"]["name"] = json!("Someone Else");
    assert_eq!(
        check(&divoc_qr(&tampered), &s).error_codes(),
        vec![ErrorCode::SignatureInvalid]
    );
    // Another key set (a snapshot without this key) is not answered from memory either.
    let other = snap(keys(method, &DivocKey::ed25519().public_pem()));
    assert_eq!(
        check(&qr, &other).error_codes(),
        vec![ErrorCode::SignatureInvalid]
    );
}

#[test]
fn test_certificates_verify_as_type_test() {
    let key = DivocKey::ed25519();
    let method = "did:test:vn";
    let s = snap(keys(method, &key.public_pem()));
    let mut cred = json!({
        "@context": ["https://www.w3.org/2018/credentials/v1",
                     "https://cowin.gov.in/credentials/testCertificate/v1"],
        "type": ["VerifiableCredential", "ProofOfTestCertificateCredential"],
        "credentialSubject": {"type": "Person", "id": "did:Passport:VN0002", "name": "Đỗ Minh Châu",
            "dob": "1992-04-05", "gender": "Female", "nationality": "Vietnamese"},
        "issuer": "https://cowin.gov.in/",
        "issuanceDate": "2021-06-01T08:00:00.000Z",
        "evidence": [{"id": "https://cowin.gov.in/test/2001", "certificateId": "2001",
            "type": ["TestDetails"], "testName": "RT-PCR", "testType": "RT-PCR",
            "disease": "COVID-19", "sampleOrigin": "Nasopharyngeal",
            "sampleCollectionTimestamp": "2021-05-31T09:00:00.000Z",
            "resultTimestamp": "2021-05-31T20:00:00.000Z", "result": "Negative",
            "verifier": {"name": "Lab"}, "facility": {"name": "Lab", "address": {"addressCountry": "IND"}}}],
        "nonTransferable": "true",
        "proof": {"type": "Ed25519Signature2018", "created": "2021-06-01T08:00:00Z",
                  "verificationMethod": method, "proofPurpose": "assertionMethod"}
    });
    key.sign(&mut cred);
    let r = check(&divoc_qr(&cred), &s);
    assert!(r.valid, "{:?}", r.errors);
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    let c = r.certificate.as_ref().unwrap();
    assert_eq!(
        c.cert_type,
        Some(dcc_gateway::hcert::payload::CertType::Test)
    );
    assert_eq!(c.holder.name.as_deref(), Some("Đỗ Minh Châu"));
    assert_eq!(c.holder.date_of_birth.as_deref(), Some("1992-04-05"));
    assert!(c.vaccinations.is_empty());
    // The result is signed: changing it breaks the signature.
    let mut forged = cred.clone();
    forged["evidence"][0]["result"] = json!("Positive");
    assert_eq!(
        check(&divoc_qr(&forged), &s).error_codes(),
        vec![ErrorCode::SignatureInvalid]
    );
}

#[test]
fn byte_mode_zip_payloads_come_out_of_photos_byte_for_byte() {
    // ZXing guesses a character set for binary byte-mode data (Shift_JIS, UTF-8, …); a ZIP is
    // taken from its byte segments instead. Pseudo-random archives, so every guess is tried.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for round in 0..12 {
        let mut payload = b"PK\x03\x04".to_vec();
        for i in 0..400 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            // Every other round rich in C1 bytes (0x80-0x9F), which no character-set guess
            // takes as ISO 8859-1.
            let b = (state >> 24) as u8;
            payload.push(if round % 2 == 1 && i % 3 == 0 {
                0x80 | (b & 0x1f)
            } else {
                b
            });
        }
        let m = super::photo::Modules::bytes(&payload, qrcode::EcLevel::L);
        let png = super::photo::png(&super::photo::flat(&m, 3.0, 4.0));
        let text = dcc_gateway::qr::decode_image(&png, &dcc_gateway::hcert::Limits::default())
            .unwrap_or_else(|e| panic!("round {round}: {e}"));
        let bytes: Vec<u8> = text
            .chars()
            .map(|c| u8::try_from(u32::from(c)).unwrap())
            .collect();
        let first_diff = bytes.iter().zip(&payload).position(|(a, b)| a != b);
        // (first_diff names where a decoder's character set went wrong.)
        assert_eq!(
            bytes,
            payload,
            "round {round}: lengths {} / {}, first difference at {first_diff:?}",
            bytes.len(),
            payload.len()
        );
    }
}

#[test]
fn a_stored_zip_that_reads_as_utf8_is_still_taken_byte_for_byte() {
    // A stored (uncompressed) archive of a credential with a Vietnamese name, whose header
    // bytes all happen to be ASCII: the whole payload is then valid UTF-8, and ZXing's text
    // would decode it as such. The gateway takes the archive from the byte segments.
    let key = DivocKey::ed25519();
    let method = "did:test:vn";
    let s = snap(keys(method, &key.public_pem()));
    let zip = (0..4000)
        .find_map(|n| {
            let mut cred = divoc_credential(method, "2021-05-01T10:00:00.000Z");
            // Vary the length too: the central directory's offset must be ASCII as well.
            cred["credentialSubject"]["refId"] = json!(n.to_string().repeat(1 + n % 97));
            key.sign(&mut cred);
            let zip = zip_member("certificate.json", cred.to_string().as_bytes(), false);
            std::str::from_utf8(&zip).is_ok().then_some(zip)
        })
        .expect("an archive that is valid UTF-8");
    let m = super::photo::Modules::bytes(&zip, qrcode::EcLevel::L);
    let png = super::photo::png(&super::photo::flat(&m, 3.0, 4.0));
    let text = dcc_gateway::qr::decode_image(&png, &dcc_gateway::hcert::Limits::default()).unwrap();
    let r = check(&text, &s);
    assert!(r.valid, "{:?}", r.errors);
    assert_eq!(
        r.certificate.unwrap().holder.name.as_deref(),
        Some("Phạm Thu Hà")
    );
}
