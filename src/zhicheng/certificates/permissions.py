"""Certificate permissions and the role that carries them.

- certificates.read over the issuing department: see the certificates it issued and their deliveries;
- certificates.issue over the issuing department: issue, revoke, hand over (window, mail, online);
- certificates.manage: the catalogue of certificate types and the signing keys (platform-wide).
Holders see their own certificates by their party (a login bound to the citizen or enterprise), with no
permission beyond using the console; anyone may verify a certificate by its number.
"""

from zhicheng.core.auth import permissions as P

CERTIFICATES_READ = P.register(
    "certificates.read",
    "查看本机构颁发的电子证照",
    "view the electronic certificates the organization issued",
)
CERTIFICATES_ISSUE = P.register(
    "certificates.issue",
    "颁发、注销电子证照并办理送达",
    "issue and revoke electronic certificates and deliver them",
)
CERTIFICATES_MANAGE = P.register(
    "certificates.manage", "维护证照目录与签名密钥", "maintain the certificate catalogue and the signing keys"
)

P.role(
    "certificate_officer",
    "证照管理员",
    "Certificate officer",
    P.SELF,
    P.ORGS_READ,
    CERTIFICATES_READ,
    CERTIFICATES_ISSUE,
)
