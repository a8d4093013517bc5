"""Electronic certificates (电子证照): catalogue, numbering, SM2 signatures, verification and delivery."""
