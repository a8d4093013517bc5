"""Who acts in one-stop services, and the roles that carry it.

- approvals.apply: citizens and enterprises apply for themselves (a user linked to a party, granted the
  `applicant` role at the city it applies in); a trusted portal system (API token) or a window clerk may apply
  on behalf of a named party;
- approvals.items over the implementing department: keep its service items and flows;
- approvals.accept over the window's organization: one-window acceptance (受理, 不予受理, 补正, 容缺受理) and
  delivery of results;
- approvals.review over a department: conclude that department's review tasks, pause for hearings, testing or
  expert review, ask for corrections;
- approvals.decide over the deciding organization: the decision (准予 / 不予许可);
- approvals.supervise over a subtree: overdue cases, escalations (督办), on-time statistics, the credit
  blacklist.
"""

from zhicheng.core.auth import permissions as P

APPLY = P.register("approvals.apply", "申请办理政务服务事项", "apply for government services")
ITEMS = P.register("approvals.items", "维护政务服务事项与办理流程", "maintain service items and flows")
ACCEPT = P.register(
    "approvals.accept", "窗口受理与送达", "accept applications at the window and deliver results"
)
REVIEW = P.register("approvals.review", "部门审查", "review cases for a department")
DECIDE = P.register("approvals.decide", "作出审批决定", "decide cases")
SUPERVISE = P.register("approvals.supervise", "审批督办与统计", "supervise cases, escalations and statistics")

P.role("applicant", "办事群众与企业", "Applicant", P.SELF, APPLY)
# the portal system that authenticates citizens itself (统一身份认证) and submits on their behalf
P.role("approvals_portal", "网上办事大厅系统", "Service portal system", P.SELF, APPLY)
P.role("approvals_window", "综合窗口受理人员", "Window clerk", P.SELF, P.ORGS_READ, APPLY, ACCEPT)
P.role("approvals_reviewer", "审查人员", "Reviewer", P.SELF, P.ORGS_READ, REVIEW)
P.role("approvals_decider", "审批负责人", "Deciding officer", P.SELF, P.ORGS_READ, REVIEW, DECIDE)
P.role("approvals_supervisor", "审批督办人员", "Supervisor", P.SELF, P.ORGS_READ, SUPERVISE)
P.role("approvals_manager", "事项管理员", "Service item manager", P.SELF, P.ORGS_READ, ITEMS)
# an organization administrator hands these roles out, so it must hold what they carry
P.extend("org_admin", APPLY, ITEMS, ACCEPT, REVIEW, DECIDE, SUPERVISE)
