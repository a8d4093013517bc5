"""Exchange permissions.

- exchange.read over the consumer department: call the exchange API for what the department was granted
  (business systems' tokens and clerks);
- exchange.manage over the provider department: host a resource's data, load it, schedule pulls, register
  a proxied API, see who used the department's resources.
Usage statistics are also open to the data authority (sharing.review) over both departments.
"""

import zhicheng.catalog.permissions  # noqa: F401 - defines catalog_clerk, which is extended below
from zhicheng.core.auth import permissions as P

EXCHANGE_READ = P.register(
    "exchange.read", "调用共享交换接口", "call the data exchange API for granted resources"
)
EXCHANGE_MANAGE = P.register(
    "exchange.manage",
    "管理本部门资源的数据（挂接、导入、抽取、代理）",
    "manage the data behind the department's resources (host, load, pull, proxy)",
)

P.extend("clerk", EXCHANGE_READ)
P.extend("catalog_clerk", EXCHANGE_MANAGE)
P.extend("org_admin", EXCHANGE_READ, EXCHANGE_MANAGE)
