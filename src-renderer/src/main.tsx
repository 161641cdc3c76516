// Renderer entry. Grows into the full console with the desktop issue.
import { createRoot } from 'react-dom/client';
import { App } from './app.js';

createRoot(document.getElementById('root')!).render(<App />);
