//! PEM bundle (or one DER certificate): every `CERTIFICATE` block is a DSC, trusted by the
//! configuration that names the file. Entries still pass the shared checks of
//! [`super::admit`] (validity at `now`, supported key) and duplicates are reported.

use super::{
    Context, Ingested, ListError, MAX_ENTRIES, RejectReason, Rejected, admit, push_unique,
};
use crate::trust::model::{Dsc, Kid};

/// Reads a PEM bundle or a single DER certificate.
pub fn ingest(bytes: &[u8], ctx: &Context<'_>) -> Result<Ingested, ListError> {
    let blocks: Vec<Option<Vec<u8>>> = if bytes.first() == Some(&0x30) {
        vec![Some(bytes.to_vec())]
    } else {
        certificate_blocks(bytes)?
    };
    if blocks.is_empty() && !bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ListError::Malformed("no PEM CERTIFICATE block".into()));
    }
    let mut out = Ingested::default();
    for (i, block) in blocks.iter().enumerate() {
        let Some(der) = block else {
            out.rejected.push(Rejected {
                entry: format!("#{i}"),
                country: None,
                reason: RejectReason::Malformed,
            });
            continue;
        };
        match admit(der, None, ctx) {
            Ok(dsc) => {
                let entry = dsc.kid.to_base64();
                push_unique(&mut out, dsc, entry);
            }
            Err(reason) => out.rejected.push(Rejected {
                entry: format!("#{i} {}", Kid::of_der(der).to_base64()),
                country: Dsc::from_der(der, ctx.source)
                    .ok()
                    .and_then(|d| d.country)
                    .map(|c| super::clip(&c)),
                reason,
            }),
        }
    }
    Ok(out)
}

const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
const END: &str = "-----END CERTIFICATE-----";

/// Every `CERTIFICATE` block of a PEM text, decoded (`None`: a block whose Base64 is broken,
/// rejected alone). Other labels are skipped.
fn certificate_blocks(bytes: &[u8]) -> Result<Vec<Option<Vec<u8>>>, ListError> {
    let text = String::from_utf8_lossy(bytes);
    let mut out = Vec::new();
    let mut rest: &str = &text;
    while let Some(start) = rest.find(BEGIN) {
        let body_start = start + BEGIN.len();
        let Some(len) = rest[body_start..].find(END) else {
            out.push(None);
            break;
        };
        let body: String = rest[body_start..body_start + len]
            .chars()
            .filter(|c| !c.is_ascii_whitespace())
            .collect();
        out.push(crate::util::base64_decode(&body));
        if out.len() > MAX_ENTRIES {
            return Err(ListError::TooManyEntries(MAX_ENTRIES));
        }
        rest = &rest[body_start + len + END.len()..];
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::RejectReason;
    use super::*;
    use crate::crypto::Alg;
    use crate::keys::mint::{self, CertSpec, SignerKey};
    use crate::trust::validate::Anchor;
    use time::macros::datetime;

    #[test]
    fn recently_expired_and_future_dscs_are_kept_for_the_timeline() {
        use crate::trust::formats::testkit;
        let key = testkit::es256();
        let recent = mint::self_signed(&testkit::spec("FR", "recent", -100, -10), &key).unwrap();
        let future = mint::self_signed(&testkit::spec("FR", "future", 30, 400), &key).unwrap();
        let old = testkit::expired_dsc("FR", &key);
        let bundle = format!("{}{}{}", recent.pem, future.pem, old.pem);
        let (_, _, anchor) = testkit::signer("anchor");
        let ctx = testkit::ctx(&anchor);
        let out = ingest(bundle.as_bytes(), &ctx).unwrap();
        let kept: Vec<&[u8]> = out.dscs.iter().map(|d| d.der.as_ref()).collect();
        assert_eq!(kept, [recent.der.as_slice(), future.der.as_slice()]);
        assert!(!out.dscs[0].valid_at(ctx.now) && !out.dscs[1].valid_at(ctx.now));
        assert_eq!(out.rejected.len(), 1);
        assert_eq!(out.rejected[0].reason, RejectReason::Expired);
        // A source keeping no expired DSC refuses the recent one too.
        let strict = Context {
            keep_expired: time::Duration::ZERO,
            ..ctx
        };
        assert_eq!(ingest(bundle.as_bytes(), &strict).unwrap().dscs.len(), 1);
    }

    #[test]
    fn a_broken_block_is_rejected_alone() {
        use crate::trust::formats::testkit;
        let key = testkit::es256();
        let a = testkit::dsc("DE", "a", &key);
        let b = testkit::dsc("AT", "b", &key);
        let broken = "-----BEGIN CERTIFICATE-----\nnot*base64!\n-----END CERTIFICATE-----\n";
        let bundle = format!("{}{broken}{}", a.pem, b.pem);
        let (_, _, anchor) = testkit::signer("anchor");
        let out = ingest(bundle.as_bytes(), &testkit::ctx(&anchor)).unwrap();
        assert_eq!(out.dscs.len(), 2);
        assert_eq!(out.rejected.len(), 1);
        assert_eq!(
            (out.rejected[0].entry.as_str(), out.rejected[0].reason),
            ("#1", RejectReason::Malformed)
        );
    }

    #[test]
    fn a_ca_certificate_is_never_admitted_as_a_document_signer() {
        use crate::trust::formats::testkit;
        let key = testkit::es256();
        let ca = mint::csca(&testkit::spec("DE", "csca", -10, 100), &key).unwrap();
        let good = testkit::dsc("DE", "dsc", &key);
        let bundle = format!("{}{}", ca.pem, good.pem);
        let (_, _, anchor) = testkit::signer("anchor");
        let out = ingest(bundle.as_bytes(), &testkit::ctx(&anchor)).unwrap();
        assert_eq!(out.dscs.len(), 1);
        assert_eq!(out.dscs[0].der.as_ref(), good.der.as_slice());
        assert_eq!(out.rejected.len(), 1);
        assert_eq!(out.rejected[0].reason, RejectReason::NotASigner);
        assert_eq!(RejectReason::NotASigner.code(), "NOT_A_SIGNER");
    }

    #[test]
    fn bundle_with_good_expired_duplicate_and_garbage() {
        let now = datetime!(2022-01-01 00:00 UTC);
        let key = SignerKey::generate(Alg::Es256).unwrap();
        let good = mint::self_signed(
            &CertSpec::new(
                "DE",
                "good",
                now - time::Duration::days(1),
                now + time::Duration::days(9),
            ),
            &key,
        )
        .unwrap();
        let old = mint::self_signed(
            &CertSpec::new(
                "DE",
                "old",
                now - time::Duration::days(900),
                now - time::Duration::days(400),
            ),
            &key,
        )
        .unwrap();
        let bundle = format!("{}{}{}", good.pem, old.pem, good.pem);
        let anchor = Anchor::none();
        let ctx = Context {
            anchor: &anchor,
            now,
            source: "pem-test",
            keep_expired: crate::trust::formats::KEEP_EXPIRED,
        };
        let got = ingest(bundle.as_bytes(), &ctx).unwrap();
        assert_eq!(got.dscs.len(), 1);
        assert_eq!(got.dscs[0].source, "pem-test");
        let reasons: Vec<_> = got.rejected.iter().map(|r| r.reason).collect();
        assert_eq!(reasons, [RejectReason::Expired, RejectReason::Duplicate]);
        assert!(matches!(
            ingest(b"garbage", &ctx),
            Err(ListError::Malformed(_))
        ));
        let truncated = &good.pem.as_bytes()[..good.pem.len() / 2];
        assert!(
            ingest(truncated, &ctx).is_err() || ingest(truncated, &ctx).unwrap().dscs.is_empty()
        );
        assert_eq!(
            ingest(b"", &ctx).unwrap().non_empty().unwrap_err(),
            ListError::Empty
        );
        assert_eq!(ingest(&good.der, &ctx).unwrap().dscs.len(), 1);
    }
}
