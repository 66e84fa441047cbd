"""Life after the decision: grants, their phases and interim evaluations, milestones, reports
and disbursements."""
