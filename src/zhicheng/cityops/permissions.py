"""City operations permissions and how the built-in roles carry them.

- cityops.read, held anywhere: read the city grid (list, get, export, locate a point), the categories, and
  the cases with their timelines. Grids are the city's reference geography, like the division table, and the
  case picture is shared by every centre and department (一网统管), so reading is not limited to the holder's
  subtree. Reporters' names and phones are shown only to intake, supervision and command holders.
- cityops.manage over an org subtree: import and replace grids whose organization (the street or community
  government, else the district's) lies in the subtree; set a grid's departments and grid workers; held over
  the city's root (anywhere a grid is), keep the 部件/事件 categories and the routing rules.
- cityops.intake, held anywhere: take reports for the city from every channel (12345 agents, grid workers,
  sensor, drone and video systems, Open311 gateways), add report photos.
- cityops.report: a citizen reports through the app and follows and comments on cases.
- cityops.supervise over the grids' organizations (监督中心): register (立案) or cancel, verify and close or
  send back for rework (返工), evaluate, the 12345 follow-up call (回访) and satisfaction.
- cityops.command over the grids' organizations (指挥中心): dispatch (by rule or by hand), take back returned
  and disputed cases, grant or refuse extensions.
- cityops.handle over a department: handle the cases dispatched to it, feed back with photos, return (退回),
  dispute (争议), ask for an extension (延期).
"""

from zhicheng.core.auth import permissions as P

CITYOPS_READ = P.register("cityops.read", "查看城市网格", "view the city grid")
CITYOPS_MANAGE = P.register(
    "cityops.manage",
    "管理城市网格（导入、责任部门、网格员）",
    "manage the city grid (import, departments, workers)",
)
INTAKE = P.register("cityops.intake", "受理城市管理问题上报", "take city operations reports")
REPORT = P.register("cityops.report", "市民上报与关注案卷", "report city problems and follow cases")
SUPERVISE = P.register(
    "cityops.supervise", "监督中心立案、核查结案与回访", "register, verify and close cases"
)
COMMAND = P.register("cityops.command", "指挥中心派遣", "dispatch cases")
HANDLE = P.register("cityops.handle", "部门处置案卷", "handle cases for a department")

P.role("grid_admin", "网格管理员", "Grid administrator", P.SELF, P.ORGS_READ, CITYOPS_READ, CITYOPS_MANAGE)
P.role("grid_worker", "网格员", "Grid worker", P.SELF, CITYOPS_READ, INTAKE)
P.role("hotline_agent", "12345 热线话务员", "12345 hotline agent", P.SELF, CITYOPS_READ, INTAKE)
P.role(
    "supervision_centre",
    "监督中心受理员",
    "Supervision centre officer",
    P.SELF,
    P.ORGS_READ,
    CITYOPS_READ,
    INTAKE,
    SUPERVISE,
)
P.role(
    "command_centre",
    "指挥中心派遣员",
    "Command centre dispatcher",
    P.SELF,
    P.ORGS_READ,
    CITYOPS_READ,
    COMMAND,
)
P.role("case_handler", "专业部门处置人员", "Department case handler", P.SELF, CITYOPS_READ, HANDLE)
P.role("city_reporter", "上报市民", "Citizen reporter", P.SELF, REPORT)
# a sensor, drone, video-AI or Open311 gateway system (API token) that reports for the city
P.role("cityops_channel", "城市感知上报系统", "Reporting channel system", P.SELF, CITYOPS_READ, INTAKE)
P.extend("clerk", CITYOPS_READ)
# an organization administrator hands out these roles, so it must hold what they carry
P.extend("org_admin", CITYOPS_READ, CITYOPS_MANAGE, INTAKE, REPORT, SUPERVISE, COMMAND, HANDLE)
P.extend("auditor", CITYOPS_READ)
