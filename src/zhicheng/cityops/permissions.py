"""City operations permissions and how the built-in roles carry them.

- cityops.read, held anywhere: read the city grid (list, get, export, locate a point). Grids are the city's
  reference geography, like the division table, so reading is not limited to the holder's subtree; every
  system that takes a location (hotline, sensors, reports) needs the whole grid.
- cityops.manage over an org subtree: import and replace grids whose organization (the street or community
  government, else the district's) lies in the subtree; set a grid's departments and grid workers.
"""

from zhicheng.core.auth import permissions as P

CITYOPS_READ = P.register("cityops.read", "查看城市网格", "view the city grid")
CITYOPS_MANAGE = P.register(
    "cityops.manage",
    "管理城市网格（导入、责任部门、网格员）",
    "manage the city grid (import, departments, workers)",
)

P.role("grid_admin", "网格管理员", "Grid administrator", P.SELF, P.ORGS_READ, CITYOPS_READ, CITYOPS_MANAGE)
P.role("grid_worker", "网格员", "Grid worker", P.SELF, CITYOPS_READ)
P.extend("clerk", CITYOPS_READ)
# an organization administrator hands out the clerk role, so it must hold what a clerk holds
P.extend("org_admin", CITYOPS_READ, CITYOPS_MANAGE)
P.extend("auditor", CITYOPS_READ)
