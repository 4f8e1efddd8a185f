"""Traffic as data: exchanges, the redaction layer, the untrusted-JSON decoder, HAR and JSON-lines readers."""
