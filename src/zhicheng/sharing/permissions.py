"""Sharing permissions and how the built-in roles carry them.

- sharing.request over the consumer department: apply, dispute a refusal, see the department's grants
  (clerks; organization administrators too, who hand out the clerk role);
- sharing.review over both the consumer's and the provider's departments (the data authority of the level
  that covers both): compliance check, escalations, disputes, revoking grants;
- sharing.decide over the provider department: decide conditional requests, revoke the grants it gave.
"""

from zhicheng.catalog.permissions import CATALOG_READ
from zhicheng.core.auth import permissions as P

SHARING_REQUEST = P.register("sharing.request", "申请共享数据资源", "apply for shared data resources")
SHARING_REVIEW = P.register(
    "sharing.review", "审核共享申请、处理争议", "review sharing requests for compliance and settle disputes"
)
SHARING_DECIDE = P.register(
    "sharing.decide", "答复本部门资源的共享申请", "decide sharing requests for the department's resources"
)

P.role(
    "data_authority",
    "数据主管部门审核员",
    "Data authority reviewer",
    P.SELF,
    P.ORGS_READ,
    CATALOG_READ,
    SHARING_REVIEW,
)
P.extend("clerk", SHARING_REQUEST)
# an organization administrator hands out the clerk role, so it must hold what a clerk holds
P.extend("org_admin", SHARING_REQUEST, SHARING_DECIDE)
P.extend("catalog_clerk", SHARING_DECIDE)
