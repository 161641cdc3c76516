// Renderer entry: builds the console (desktop bridge when present, else the browser session)
// and renders it.
import { createRoot } from 'react-dom/client';
import { App } from './app';
import { createConsole } from './console';
import { desktopBridge } from './desktop-bridge';
import { ConsoleProvider } from './store/context';
import { navigate, agentPath, hostPath } from './router';
import './styles/app.css';

const bridge = desktopBridge();
const console_ = createConsole({ bridge });
bridge?.notifications.onClick((alert) => navigate(alert.agent_id ? agentPath(alert.agent_id, 'activity') : alert.host_id ? hostPath(alert.host_id) : '/alerts'));
bridge?.app.onMenuCommand((command) => command === 'manage-profiles' && navigate('/settings'));

createRoot(document.getElementById('root')!).render(
  <ConsoleProvider value={console_}>
    <App />
  </ConsoleProvider>,
);
void console_.start();
