//! What a signature shows of its signer: the name in a JPKI sign certificate.

/// The name to show for a JPKI sign certificate: the name otherName of its
/// subjectAltName (1.2.392.200149.8.5.5.1, the 基本4情報 name), else the
/// subject's common name.
pub fn signer_name(cert_der: &[u8]) -> Option<String> {
    use der::Decode;
    use x509_cert::ext::pkix::name::GeneralName;
    use x509_cert::ext::pkix::SubjectAltName;
    let cert = x509_cert::Certificate::from_der(cert_der).ok()?;
    let name_oid = const_oid::ObjectIdentifier::new_unwrap("1.2.392.200149.8.5.5.1");
    let san_oid = const_oid::ObjectIdentifier::new_unwrap("2.5.29.17");
    let from_san = cert
        .tbs_certificate
        .extensions
        .iter()
        .flatten()
        .filter(|e| e.extn_id == san_oid)
        .find_map(|e| {
            let san = SubjectAltName::from_der(e.extn_value.as_bytes()).ok()?;
            san.0.into_iter().find_map(|g| match g {
                GeneralName::OtherName(o) if o.type_id == name_oid => o
                    .value
                    .decode_as::<der::asn1::Utf8StringRef>()
                    .ok()
                    .map(|s| s.as_str().to_string()),
                _ => None,
            })
        });
    from_san.or_else(|| {
        let cn = const_oid::db::rfc4519::CN;
        cert.tbs_certificate
            .subject
            .0
            .iter()
            .flat_map(|rdn| rdn.0.iter())
            .find(|a| a.oid == cn)
            .and_then(|a| {
                a.value
                    .decode_as::<der::asn1::Utf8StringRef>()
                    .map(|s| s.as_str().to_string())
                    .or_else(|_| {
                        a.value
                            .decode_as::<der::asn1::PrintableStringRef>()
                            .map(|s| s.as_str().to_string())
                    })
                    .ok()
            })
    })
}
