import { Routes } from '@angular/router';
import { signedIn } from './auth/signed-in.guard';

export const routes: Routes = [
  { path: '', pathMatch: 'full', redirectTo: 'overview' },
  { path: 'login', title: 'Sign in · AgentStack', loadComponent: () => import('./auth/login/login').then((m) => m.Login) },
  {
    path: '',
    canActivate: [signedIn],
    children: [
      { path: 'overview', title: 'Overview · AgentStack', loadComponent: () => import('./overview/overview').then((m) => m.Overview) },
      { path: 'traces', title: 'Traces · AgentStack', loadComponent: () => import('./traces/trace-list/trace-list').then((m) => m.TraceListPage) },
      { path: 'traces/:traceId', title: 'Trace · AgentStack', loadComponent: () => import('./traces/trace-detail/trace-detail').then((m) => m.TraceDetailPage) },
      { path: 'admin', title: 'Projects and keys · AgentStack', loadComponent: () => import('./admin/admin-page').then((m) => m.AdminPage) },
      { path: 'operations', title: 'Operations · AgentStack', loadComponent: () => import('./operations/operations').then((m) => m.Operations) },
      { path: 'audit', title: 'Audit · AgentStack', loadComponent: () => import('./audit/audit-page').then((m) => m.AuditPage) },
      { path: 'traces/:traceId/replay', title: 'Time Machine · AgentStack', loadComponent: () => import('./replay/replay-viewer').then((m) => m.ReplayViewer) },
      { path: 'findings', title: 'Findings · AgentStack', loadComponent: () => import('./findings/findings-page').then((m) => m.FindingsPage) },
      { path: 'sessions', title: 'Sessions · AgentStack', loadComponent: () => import('./sessions/session-list/session-list').then((m) => m.SessionListPage) },
      { path: 'sessions/:sessionId', title: 'Session · AgentStack', loadComponent: () => import('./sessions/session-detail/session-detail').then((m) => m.SessionDetailPage) },
      { path: 'compare', title: 'Compare runs · AgentStack', loadComponent: () => import('./compare/compare-runs').then((m) => m.CompareRuns) },
    ],
  },
  { path: '**', redirectTo: 'overview' },
];
