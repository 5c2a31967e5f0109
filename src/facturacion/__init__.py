"""facturacion: the billing system's electronic receipts, SUNAT client, e-mail, PDFs and reports."""
