"""``POST /v1/decode``: the QR codes and barcodes in an uploaded image."""
