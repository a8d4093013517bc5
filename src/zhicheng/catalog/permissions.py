"""The catalog's permissions and how the built-in roles carry them."""

from zhicheng.core.auth import permissions as P

CATALOG_READ = P.register("catalog.read", "查阅数据资源目录", "read the data resource catalog")
CATALOG_MANAGE = P.register(
    "catalog.manage", "编目本部门数据资源", "catalogue the department's data resources"
)

P.role(
    "catalog_clerk", "数据资源编目员", "Catalogue clerk", P.SELF, P.ORGS_READ, CATALOG_READ, CATALOG_MANAGE
)
P.extend("clerk", CATALOG_READ)
P.extend("org_admin", CATALOG_READ, CATALOG_MANAGE)
P.extend("auditor", CATALOG_READ)
