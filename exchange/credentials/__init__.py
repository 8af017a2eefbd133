"""Open Badges 3.0 credentials for issued honours (SPEC §5, issue 13): signing keys,
the credentials themselves (VC-JWT), the revocation status list, badge images with
the credential baked in, and the check of a pasted credential or badge image."""
