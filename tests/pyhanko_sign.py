"""Signs a PDF with pyHanko and a software key, for the DocMDP/FieldMDP tests
(tests/tests/pdf_mdp.rs): a certification signature with DocMDP /P, or an
approval signature in a new field with a lock dictionary, as Acrobat and
pyHanko write them.

    python3 pyhanko_sign.py IN OUT --key K --cert C --field F
        [--certify P] [--lock-include A,B | --lock-all] [--lock-p P]
        [--ignore-docmdp]

--ignore-docmdp signs even a file certified with P 1 (pyHanko refuses that,
as it should): the tests need such a file to show that verify fails it.
"""

import argparse

from pyhanko.sign import fields, signers
from pyhanko.sign.fields import FieldMDPAction, FieldMDPSpec, MDPPerm, SigFieldSpec
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter


def main():
    p = argparse.ArgumentParser()
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("--key", required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--field", required=True)
    p.add_argument("--certify", type=int)
    p.add_argument("--lock-include")
    p.add_argument("--lock-all", action="store_true")
    p.add_argument("--lock-p", type=int)
    p.add_argument("--ignore-docmdp", action="store_true")
    a = p.parse_args()

    signer = signers.SimpleSigner.load(a.key, a.cert)
    with open(a.input, "rb") as f:
        w = IncrementalPdfFileWriter(f, strict=False)
        lock = None
        if a.lock_all:
            lock = FieldMDPSpec(FieldMDPAction.ALL)
        elif a.lock_include:
            lock = FieldMDPSpec(FieldMDPAction.INCLUDE, fields=a.lock_include.split(","))
        if lock is not None or a.lock_p:
            fields.append_signature_field(
                w,
                SigFieldSpec(
                    a.field,
                    field_mdp_spec=lock or FieldMDPSpec(FieldMDPAction.INCLUDE, fields=[]),
                    doc_mdp_update_value=MDPPerm(a.lock_p) if a.lock_p else None,
                ),
            )
        meta = signers.PdfSignatureMetadata(
            field_name=a.field,
            certify=a.certify is not None,
            docmdp_permissions=MDPPerm(a.certify) if a.certify else MDPPerm.FILL_FORMS,
        )
        pdf_signer = signers.PdfSigner(meta, signer)
        if a.ignore_docmdp:
            pdf_signer._enforce_certification_constraints = lambda reader: None
        with open(a.output, "wb") as out:
            pdf_signer.sign_pdf(w, output=out)


if __name__ == "__main__":
    main()
